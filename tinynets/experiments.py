"""A project's experiments as DVC keeps them, read through DVC's own API: each one's params and metrics, and
`dvc exp apply` with the checks that keep uncommitted work from being lost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinynets.common import paths
from tinynets.common.errors import DataError

WORKSPACE = "workspace"


@dataclass(frozen=True)
class Experiment:
    """One row of DVC's experiment table: where it is, its params, one dataset's metrics (None: none)."""

    name: str  # "workspace", an experiment's name, or a commit's branch or short rev
    rev: str
    kind: str  # "workspace", "commit" or "experiment"
    status: str  # "done", "queued", "running" or "failed"
    params: dict[str, Any] = field(default_factory=dict)  # params.yaml, flattened: "datasets.iris.train.lr" -> 0.03
    scores: dict[str, Any] | None = None
    baseline: str = ""  # an experiment's: the commit it was run from

    @property
    def commit(self) -> str:
        """The commit the results belong to: an experiment's baseline, a commit's own."""
        return self.baseline or self.rev


def flattened(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested params as one level: {"a": {"b": 1}} -> {"a.b": 1}."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            flat |= flattened(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _row(state: Any, name: str, kind: str, status: str, dataset: str, baseline: str = "") -> Experiment:
    data = state.data
    params = (data.params.get("params.yaml") or {}).get("data") or {} if data else {}
    metrics = (data.metrics.get(f"metrics/{dataset}.json") or {}).get("data") if data else None
    if status != "done":  # a failed experiment still carries its baseline's committed metrics
        metrics = None
    return Experiment(name, state.rev, kind, status, flattened(params), metrics or None, baseline)


@contextmanager
def dvc_repo(root: Path) -> Iterator[Any]:
    """DVC's Repo at `root`; its errors become one line (a lock held by a running `dvc`, say)."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            yield repo
    except DvcException as error:
        raise DataError(f"dvc: {error}") from None


def read_experiments(root: Path, dataset: str, all_commits: bool = False) -> tuple[list[Experiment], str]:
    """Every experiment DVC knows here (the workspace, HEAD and each branch's commit, or with `all_commits` every
    commit, and their experiments, queued and failed ones too), with `dataset`'s metrics; and HEAD's commit."""
    with dvc_repo(root) as repo:
        states = repo.experiments.show(revs=["HEAD"], all_branches=True, all_commits=all_commits)  # HEAD if detached
        head = repo.scm.get_rev()
    rows = []
    for state in states:
        kind = WORKSPACE if state.rev == WORKSPACE else "commit"
        rows.append(_row(state, state.name or state.rev[:7] if kind == "commit" else WORKSPACE, kind, "done", dataset))
        for run in state.experiments or []:
            status = {"success": "done"}.get(run.executor.state, run.executor.state) if run.executor else "done"
            latest = run.revs[0]
            name = run.name or latest.name or latest.rev[:7]
            rows.append(_row(latest, name, "experiment", status, dataset, baseline=state.rev))
    return _distinct(rows), head


def _distinct(rows: list[Experiment]) -> list[Experiment]:
    """The rows without a workspace that only repeats another row (the same params and metrics: the checked-out
    commit's, or after `dvc exp run` or `dvc exp apply` an experiment's)."""
    seen = {_identity(row) for row in rows if row.kind != WORKSPACE and row.scores}
    return [row for row in rows if not (row.kind == WORKSPACE and row.scores and _identity(row) in seen)]


def _identity(row: Experiment) -> str:
    return json.dumps([row.params, row.scores], sort_keys=True, default=str)


DERIVED = f"{paths.SEARCHES}/"  # tinynets search's summaries: rewritten from their study, never work to lose


def refuse_lost_work(repo: Any, root: Path, finished: list[str]) -> None:
    """Refuse, naming them, what `dvc exp apply` would lose: uncommitted changes to git-tracked files (unless they
    are exactly one of the `finished` experiments', or a search summary) and outputs that differ from dvc.lock."""
    staged, unstaged, _ = repo.scm.status(untracked_files="no")
    changed = sorted({*unstaged, *(path for added in staged.values() for path in added)})
    changed = [path for path in changed if not path.startswith(DERIVED)]
    if changed and not any(_saved_in(repo, rev, root, changed) for rev in finished):
        raise DataError(f"--apply would overwrite uncommitted changes to {listed(changed)}: commit or stash them")
    edited = _edited_outputs(repo.status())
    if edited:
        raise DataError(
            f"--apply would overwrite {listed(edited)}, which differ from dvc.lock: keep them with "
            "`dvc exp save`, or restore dvc.lock's with `dvc checkout`"
        )


def check_apply(root: Path) -> None:
    """Refuse an --apply up front (before a search's trials run) when it would lose work."""
    with dvc_repo(root) as repo:
        refuse_lost_work(repo, root, [])


def apply(root: Path, best: Experiment, finished: list[str]) -> str:
    """`dvc exp apply` experiment `best`, so params.yaml and the outputs are its own; refuses when it would lose
    work (`refuse_lost_work`)."""
    with dvc_repo(root) as repo:
        refuse_lost_work(repo, root, finished)
        head = repo.scm.get_rev()
        if best.kind == "commit":
            if best.rev == head:
                return f"the best is {best.name}, the checked-out commit: nothing to apply"
            raise DataError(
                f"the best is commit {best.name}: `git checkout {best.name} && dvc checkout` makes it yours"
            )
        if best.baseline != head:
            raise DataError(f"{best.name} was run from commit {best.baseline[:7]}: check that out first, then --apply")
        repo.experiments.apply(best.rev)
    return f"applied {best.name}: params.yaml and the outputs are its own"


def _saved_in(repo: Any, rev: str, root: Path, paths: list[str]) -> bool:
    """Whether commit `rev` holds each of `paths` as the workspace does: after `dvc exp run` the workspace's
    changes are that experiment's, saved in its commit, and nothing is lost."""
    files = repo.scm.get_fs(rev)
    try:
        return all(files.cat_file(path) == (root / path).read_bytes() for path in paths)
    except FileNotFoundError:
        return False


def _edited_outputs(status: dict[str, Any]) -> list[str]:
    """The outputs whose workspace copy differs from dvc.lock (edited, or written outside `dvc repro`): work an
    apply would lose. A changed dependency (params.yaml) or a deleted output loses nothing."""
    edited = []
    for changes in status.values():
        for change in changes:
            if isinstance(change, dict):
                outs = change.get("changed outs", {})
                edited += [path for path, state in outs.items() if state == "modified"]
    return sorted(set(edited))


def listed(paths: list[str]) -> str:
    """The first three paths, and how many more."""
    return ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
