"""A search's Optuna side: where its study lives (a storage spec resolved against the caller's directory, its
password never shown), which study a search resumes (a digest of what its trials compute from), the sampler
(seeded per trial number, so that a resumed or shared study proposes what one uninterrupted process would), and
a point asked again when its trial was cut short.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tinynets.common import paths
from tinynets.common.errors import ConfigError, DataError
from tinynets.params import SearchConfig
from tinynets.rules import one_line

STORAGE_VARIABLE = "TINYNETS_STORAGE"  # a storage URL kept out of the command line (and out of shell history)
ENVIRONMENT_FILES = ("requirements.txt", "pyproject.toml", "dvc.yaml")  # decide a trial's result beside its deps


@dataclass(frozen=True)
class Storage:
    """Where a study lives: `url` (a journal file as `journal:PATH`, else a database URL), every path absolute;
    `shown`, the same with any password masked; `own`, whether it is the project's own journal."""

    url: str
    shown: str
    own: bool


def masked(url: str) -> str:
    """A storage URL with its password (in the user part or the query string) shown as ***, by SQLAlchemy's own
    rendering; a journal path as it is."""
    if url.startswith("journal:"):
        return url
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return "<a URL SQLAlchemy cannot read>"
    secret = {key: "***" for key in parsed.query if "pass" in key.lower()}  # password, passwd
    return parsed.update_query_dict(secret).render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


def scrub(text: str, url: str) -> str:
    """`text` (a library's message) with the storage URL shown masked, and its password, wherever the message
    repeated it (plain or percent-encoded), as ***."""
    if url.startswith("journal:"):
        return text
    from urllib.parse import quote

    from sqlalchemy.engine import make_url

    text = text.replace(url, masked(url))
    try:
        parsed = make_url(url)
    except Exception:
        return text
    secrets = [parsed.password, *(value for key, value in parsed.query.items() if "pass" in key.lower())]
    for secret in filter(None, map(str, secrets)):
        if len(secret) >= 4:  # a shorter one would mask letters of every word
            for form in {secret, quote(secret, safe="")}:
                text = text.replace(form, "***")
    return text


def resolve_storage(root: Path, dataset: str, given: str | None, cwd: Path) -> Storage:
    """The study's storage: `given` (a URL, or @FILE holding one), else $TINYNETS_STORAGE, else the project's
    journal file. A relative path in it is the caller's directory's (`cwd`), as a shell would read it: a trial
    runs elsewhere and must open the same study."""
    spec = given if given is not None else os.environ.get(STORAGE_VARIABLE, "")
    if given is not None and not given.strip():  # `--storage "$URL"` with URL unset: not the project's journal
        raise DataError("--storage '': give a storage URL, or leave --storage out for the project's own journal")
    if spec.startswith("@"):
        source = cwd / spec[1:]
        try:
            spec = source.read_text().strip()
        except OSError as error:
            raise DataError(f"--storage @{spec[1:]}: cannot read {source} ({error.strerror})") from None
        if not spec:
            raise DataError(f"--storage @{source}: the file is empty (it should hold one storage URL)")
    if not spec:
        journal, before = root / paths.JOURNALS / f"{dataset}.journal", root / paths.SEARCHES / f"{dataset}.journal"
        journal.parent.mkdir(parents=True, exist_ok=True)
        if before.exists() and not journal.exists():  # where the first searches kept it
            before.rename(journal)
        return Storage(f"journal:{journal}", f"journal:{journal.relative_to(root)}", own=True)
    if spec.startswith("journal:"):
        path = (cwd / Path(spec.removeprefix("journal:")).expanduser()).resolve()
        own = path == (root / paths.JOURNALS / f"{dataset}.journal").resolve()  # named, but the project's own
        return Storage(f"journal:{path}", f"journal:{path}", own=own)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if spec.partition("://")[2].split("/", 1)[0].count("@") > 1:  # SQLAlchemy would cut the password at its @
        raise DataError("--storage: its password holds an @: write it as %40 (URL-encoded), or use libpq's .pgpass")
    try:
        url = make_url(spec)
    except (ArgumentError, ValueError):
        raise DataError(
            f"--storage {masked(spec)}: not a storage URL (e.g. postgresql://HOST/DB, sqlite:///FILE)"
        ) from None
    database = url.database or ""
    if url.get_backend_name() == "sqlite":
        if database in ("", ":memory:") or "mode=memory" in str(url):
            raise DataError(f"--storage {masked(spec)}: a database in memory keeps no study: name a file")
        if not database.startswith("file:"):
            url = url.set(database=str((cwd / database).resolve()))  # an absolute path stays as it is
    text = url.render_as_string(hide_password=False)
    return Storage(text, masked(text), own=False)


SAID_LINE = re.compile(r"^error:")  # a stage's own one-line error, or argparse's
RAISED_LINE = re.compile(r"^[\w.]+(Error|Exception|Interrupt)\b")  # a traceback's last line
TOOL_LINE = re.compile(r"^(ERROR:|fatal:)")  # DVC's (for a stage: "failed to reproduce"), git's


def cause(lines: list[str], otherwise: str) -> str:
    """What a failed command said went wrong, on one line: a stage's own error, else the last exception raised,
    else DVC's or git's error, else `otherwise`."""
    said = [line for line in lines if SAID_LINE.match(line)]
    raised = [line for line in lines if RAISED_LINE.match(line)]
    tool = [line for line in lines if TOOL_LINE.match(line)]
    return one_line((said or raised[-1:] or tool or [otherwise])[0])


def tool(root: Path, *command: str) -> str:
    """A git or dvc command's output, run in `root`; its failure as one line (the first that says an error)."""
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise DataError(f"{' '.join(command[:2])}: {cause(lines, otherwise=(lines or ['failed'])[0])}")
    return done.stdout


def git(root: Path, *args: str) -> str:
    """A git command's output; its failure as one line."""
    return tool(root, "git", *args)


def grid_values(distribution: Any) -> list[Any]:
    """A grid's values for one param: a choice's, or every int of a range."""
    if distribution.type == "choice":
        return list(distribution.values)
    return list(range(distribution.low, distribution.high + 1, distribution.step))


def grid_size(config: SearchConfig) -> int:
    """How many points a grid search has (every combination of the listed values)."""
    return math.prod(len(grid_values(distribution)) for distribution in config.space.values())


def study_inputs(root: Path) -> dict[str, str]:
    """What HEAD's trials compute from, by path: the git blob of every tracked file a dvc.yaml stage depends on
    that no stage writes (not the metrics, nor the search summaries, that plot and report draw), of dvc.yaml and
    the pinned requirements, and params.yaml's content without its search blocks. A commit that changes none of
    them (a README line, new metrics, a summary, dvc.lock, more trials) keeps the study."""
    stages = yaml.safe_load(git(root, "show", "HEAD:dvc.yaml")) or {}
    deps, made = set(), set()
    for stage in (stages.get("stages") or {}).values():
        body = stage.get("do", stage)
        deps |= {dep for dep in body.get("deps", []) if isinstance(dep, str) and "${" not in dep}
        for kind in ("outs", "metrics", "plots"):
            made |= {next(iter(out)) if isinstance(out, dict) else out for out in body.get(kind, [])}
    deps -= {paths.PARAMS_FILE.as_posix(), str(paths.SEARCHES)}  # the summaries plot and report draw: no trial's metric
    listed = git(root, "ls-tree", "-r", "-z", "HEAD", "--", *sorted(deps), *ENVIRONMENT_FILES) if deps else ""
    inputs = {}
    for entry in filter(None, listed.split("\0")):
        meta, path = entry.split("\t", 1)
        if not any(path == out or path.startswith(f"{out}/") for out in made):  # a stage's result (metrics/)
            inputs[path] = meta.split()[2]
    params = yaml.safe_load(git(root, "show", f"HEAD:{paths.PARAMS_FILE}")) or {}
    params.pop("search", None)
    inputs["params.yaml (but search:)"] = digest(params)
    return inputs


def digest(value: Any) -> str:
    """A short digest of plain data."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]


def decided(config: SearchConfig) -> dict[str, Any]:
    """What of a search block decides which points its trials ask and how they are scored."""
    return config.model_dump(include={"space", "sampler", "metric", "seed", "n_startup_trials", "multivariate"})


def study_name(dataset: str, config: SearchConfig, inputs: dict[str, str]) -> str:
    """The study of this search: the dataset and a digest of what decides its trials (the `inputs` they compute
    from, the space, sampler, metric and seed), so that other code or another space starts another study."""
    return f"{dataset}-{digest({**decided(config), 'inputs': inputs})[:6]}"


def of_dataset(name: str, dataset: str) -> bool:
    """Whether a study named `name` is one of `dataset`'s (not of a dataset whose name starts alike)."""
    return re.fullmatch(rf"{re.escape(dataset)}-[0-9a-f]{{6}}", name) is not None


def why_new(dataset: str, storage: Any, inputs: dict[str, str], config: SearchConfig) -> str:
    """Why a search starts a new study: what changed since the dataset's study a search last ran in this storage."""
    import optuna

    summaries = optuna.get_all_study_summaries(storage, include_best_trial=False)
    others = [s for s in summaries if of_dataset(s.study_name, dataset) and "inputs" in s.user_attrs]
    if not others:
        return "the first study of this dataset here"
    latest = max(others, key=lambda s: s.user_attrs.get("searched", s.user_attrs.get("created", 0)))
    before, changes = latest.user_attrs["inputs"], []
    changes += [path for path in sorted(set(before) | set(inputs)) if before.get(path) != inputs.get(path)]
    was = latest.user_attrs.get("search", {})
    changes += [f"search.{dataset}.{key}" for key, value in decided(config).items() if was.get(key) != value]
    named = ", ".join(changes[:4]) + (f" and {len(changes) - 4} more" if len(changes) > 4 else "")
    return f"{named or 'nothing it records'} changed since {latest.study_name} ({latest.n_trials} trials)"


def mark_new(study: Any, inputs: dict[str, str], config: SearchConfig) -> None:
    """Record in a new study what it was made from, so that a later one can say what changed."""
    study.set_user_attr("inputs", inputs)
    study.set_user_attr("search", json.loads(json.dumps(decided(config))))
    study.set_user_attr("grace", config.grace)  # every machine must wait alike before failing another's trial
    study.set_user_attr("created", time.time())


def mark_searched(study: Any) -> None:
    """Record that a search runs in this study now: the one a later new study says what changed since."""
    study.set_user_attr("searched", time.time())


def check_grace(study: Any, dataset: str, config: SearchConfig) -> None:
    """Refuse a grace other than the study's: a machine quicker to call a trial silent fails others' live ones."""
    made_with = study.user_attrs.get("grace", config.grace)
    if made_with != config.grace:
        raise ConfigError(
            f"params.yaml: search.{dataset}.grace: {config.grace} here, but study {study.study_name} was made with "
            f"{made_with}: every machine on a study waits alike"
        )


def trial_seed(seed: int, number: int) -> int:
    """The sampler's seed for trial `number` of a search seeded `seed`: the same whichever process asks it."""
    import numpy as np

    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


def make_sampler(config: SearchConfig, workers: int, seed: int | None = None) -> Any:
    """Optuna's sampler for the search block: TPE (its start-up trials, multivariate, a constant liar with
    several workers), random, or a grid over the listed values in an order that `config.seed` fixes."""
    import optuna

    if config.sampler == "grid":
        return optuna.samplers.GridSampler({p: grid_values(d) for p, d in config.space.items()}, seed=config.seed)
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    liar = config.constant_liar if config.constant_liar is not None else workers > 1
    return optuna.samplers.TPESampler(
        seed=seed,
        n_startup_trials=config.n_startup_trials,
        multivariate=config.multivariate,
        constant_liar=liar,
    )


def sampler(config: SearchConfig, workers: int) -> Any:
    """The search's sampler: for TPE and random, one seeded by each trial's number (its state, bar the seed, is
    the study's trials), so a resumed search or a second machine asks no point an earlier trial asked; a grid
    visits its points by trial number already."""
    if config.sampler == "grid":
        return make_sampler(config, workers)
    from optuna.samplers import BaseSampler

    class PerTrial(BaseSampler):
        """Delegates each trial to a sampler of its own, seeded by `trial_seed`."""

        def __init__(self) -> None:
            self.each: dict[int, Any] = {}

        def of(self, trial: Any) -> Any:
            if trial.number not in self.each:
                self.each[trial.number] = make_sampler(config, workers, trial_seed(config.seed, trial.number))
            return self.each[trial.number]

        def infer_relative_search_space(self, study: Any, trial: Any) -> Any:
            return self.of(trial).infer_relative_search_space(study, trial)

        def sample_relative(self, study: Any, trial: Any, search_space: Any) -> Any:
            return self.of(trial).sample_relative(study, trial, search_space)

        def sample_independent(self, study: Any, trial: Any, name: str, distribution: Any) -> Any:
            return self.of(trial).sample_independent(study, trial, name, distribution)

        def before_trial(self, study: Any, trial: Any) -> None:
            self.of(trial).before_trial(study, trial)

        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            self.of(trial).after_trial(study, trial, state, values)
            self.each.pop(trial.number, None)

        def reseed_rng(self) -> None:  # Optuna calls it for n_jobs > 1, which a search never uses
            pass

    return PerTrial()


def ask_again(study: Any, trial: Any) -> None:
    """Queue a cut-short trial's point to be asked next (Optuna's own retry of a stale trial: its params, and a
    grid's point id, so the grid has no hole)."""
    import warnings

    from optuna.exceptions import ExperimentalWarning
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    frozen = study._storage.get_trial(trial._trial_id)
    if frozen.params:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            RetryHeartbeatStaleTrialCallback()(study, frozen)
