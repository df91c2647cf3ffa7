"""The `tinynets` command: a thin layer over the package, for what a user does outside the pipeline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn

from tinynets.common.errors import DataError
from tinynets.common.stage import outcome


class OneLineParser(argparse.ArgumentParser):
    """argparse, its usage mistakes said in one line (`--help` shows the usage); an option only by its whole name
    (`--confirm` is not `--confirm-best`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    commands = OneLineParser(prog="tinynets", description="Use the models the pipeline trained; compare runs.")
    verbs = commands.add_subparsers(dest="verb", required=True, parser_class=OneLineParser)
    predict = verbs.add_parser(
        "predict",
        help="label new rows (CSV) or images (PNG/JPEG) with a trained model",
        description="Writes a CSV: the input's columns (or file names), `predicted`, then `p_<class>` per class; "
        "for a forecast, `step` and `predicted` for each step ahead of the file's last rows.",
    )
    predict.add_argument("dataset", help="a dataset trained by `dvc repro` (its name in params.yaml)")
    predict.add_argument(
        "inputs", nargs="+", type=Path, help="a CSV with the dataset's columns (a series' recent steps), or images"
    )
    predict.add_argument("-o", "--output", type=Path, help="where to write the CSV (default: print it)")
    compare = verbs.add_parser(
        "compare",
        help="rank a dataset's experiments on validation data and tell a real lead from seed noise",
        description="Reads DVC's experiments (the workspace, branches, queued and failed experiments): one "
        "row each, ranked on the mean validation metric over seeds when measured alike (the same validation rows, "
        "commit and loss units), the test metric beside it; then whether the best one's lead over the runner-up "
        "is larger than the noise of their seeds (a t-test over the seeds), and the set that shares first place.",
    )
    compare.add_argument("dataset", help="a dataset in params.yaml")
    compare.add_argument("--metric", help="what to rank on (default: accuracy for a classifier, else mae)")
    compare.add_argument(
        "--all-commits", action="store_true", help="rank experiments of every commit, not HEAD's alone"
    )
    compare.add_argument("--apply", action="store_true", help="`dvc exp apply` the best experiment")
    compare.add_argument("--md", type=Path, metavar="FILE", help="also write the table and verdict as Markdown")
    search = verbs.add_parser(
        "search",
        help="search a dataset's params (its search: block), each trial a DVC experiment",
        description="An Optuna study over the space params.yaml declares under search.<dataset>: each trial runs "
        "`dvc exp run -n NAME -S ...` in a workspace of its own, several at once with --workers; the study is kept "
        "in search/journals/<dataset>.journal, so a search stopped midway resumes; its summary in "
        "search/<dataset>.json, which the plot and report stages draw. Then `tinynets compare` ranks them.",
    )
    search.add_argument("dataset", help="a dataset with a search: block in params.yaml")
    search.add_argument("--trials", type=positive, help="finished trials the study should hold (default: the block's)")
    search.add_argument("--workers", type=positive, help="trials at once (default: the block's)")
    search.add_argument(
        "--storage",
        metavar="URL",
        help="an Optuna storage URL, or @FILE holding one (default: $TINYNETS_STORAGE, else the journal file); "
        "a relative path in it is this directory's",
    )
    search.add_argument(
        "--confirm-best",
        type=positive,
        metavar="K",
        help="then run the best K trials again with 3 fresh seeds each, and compare them",
    )
    search.add_argument(
        "--apply",
        action="store_true",
        help="with --confirm-best: `dvc exp apply` the best confirmed, then `dvc repro` (the search's figures, table)",
    )
    search.add_argument(
        "--status",
        action="store_true",
        help="list the dataset's studies (trials, best, which a search resumes); run none",
    )
    return commands


def positive(text: str) -> int:
    """A command-line count: a whole number, 1 or more."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is not 1 or more")
    return number


def project_root(start: Path) -> Path:
    """The nearest folder at or above `start` that holds dvc.yaml (as git and dvc find theirs)."""
    for folder in (start, *start.parents):
        if (folder / "dvc.yaml").is_file():
            return folder
    raise DataError(f"{start} is not inside a tinynets project (no dvc.yaml here or above)")


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, run the verb, exit with 0, or 2 and one line for a user's mistake."""
    args = parser().parse_args(argv)
    sys.exit(outcome(lambda: VERBS[args.verb](args)))


def predict(args: argparse.Namespace) -> None:
    from tinynets.common import files
    from tinynets.predict import predict_files

    table = predict_files(args.dataset, args.inputs, project_root(Path.cwd()))
    if args.output is None:
        sys.stdout.write(table)
    else:
        files.write_text(args.output, table)


def compare(args: argparse.Namespace) -> None:
    from tinynets.compare import apply_best
    from tinynets.compare import compare as ranked

    root = project_root(Path.cwd())
    comparison = ranked(root, args.dataset, args.metric, args.all_commits)
    if args.apply:  # refused before anything is printed or written, when it cannot be done
        applied = apply_best(root, comparison)
    if args.md:
        from tinynets.common import files  # numpy's import, only when it writes

        files.write_text(args.md, f"{comparison.table(markdown=True)}\n{comparison.verdict}\n")
    print(comparison.table())
    print(comparison.verdict)
    if args.apply:
        print(applied)


def search(args: argparse.Namespace) -> None:
    from tinynets.common import paths
    from tinynets.report import without_dataset
    from tinynets.rules import one_line
    from tinynets.search import Outcome, write_summary
    from tinynets.search import search as searched
    from tinynets.studies import tool

    def described(trial: Outcome) -> str:
        shown = (f"{value:.4g}" if isinstance(value, float) else str(value) for value in trial.params.values())
        names = map(without_dataset, trial.params)
        values = ", ".join(f"{name} {value}" for name, value in zip(names, shown, strict=True))
        return f"trial {trial.number} ({values}): {trial.ended} [{trial.experiment}]"

    def report(said: Outcome | str) -> None:
        print(said if isinstance(said, str) else f"{args.dataset}: {described(said)}", flush=True)

    if args.apply and not args.confirm_best:
        raise DataError("--apply makes the best confirmed trial yours: give --confirm-best K too")
    root = project_root(Path.cwd())
    if args.status:
        from tinynets.search import status

        print("\n".join(status(root, args.dataset, args.storage)))
        return
    if args.apply:
        from tinynets.experiments import check_apply

        check_apply(root)  # refused now, not after every trial has run

    def summarized() -> Path | None:
        """The summary written from the study as it stands; None when no trial ended, or when it could not be
        written (said in one line)."""
        try:
            return write_summary(root, args.dataset, args.storage)
        except Exception as error:
            from tinynets.studies import resolve_storage, scrub

            url = resolve_storage(root, args.dataset, args.storage, Path.cwd()).url
            said = f"{type(error).__name__}: {one_line(scrub(str(error), url))[:200]}"
            print(f"warning: {paths.of(args.dataset).search_summary} not written ({said})", file=sys.stderr)
            return None

    best = searched(root, args.dataset, args.trials, args.workers, args.storage, report)  # stopped: it summarizes
    summary = summarized()
    if best is not None:
        print(f"{args.dataset}: best {described(best)}; `tinynets compare {args.dataset}` tells its lead from noise")
    applied = None
    if args.confirm_best:
        from tinynets.compare import apply_best, compare
        from tinynets.search import confirm

        confirmed, metric = confirm(root, args.dataset, args.confirm_best, args.workers, args.storage, print)
        comparison = compare(root, args.dataset, metric, only=confirmed)
        print(comparison.table())
        print(comparison.verdict)
        if args.apply:
            applied = apply_best(root, comparison)
            print(applied)
            summary = summarized()  # the applied commit's summary (HEAD's) gives way to the search's again
    if summary is None:
        return
    drawn = f"its figures ({paths.of(args.dataset).images}/search_*.png) and table (reports/)"
    if applied:
        tool(root, "dvc", "repro", "--quiet")  # the applied outputs are current: plot and report alone rerun
        print(f"{args.dataset}: dvc repro drew {drawn} from {summary.relative_to(root)}")
    else:
        relative = summary.relative_to(root)
        print(f"{args.dataset}: the next dvc repro draws {drawn} from {relative} (commit it with the result)")


VERBS = {"predict": predict, "compare": compare, "search": search}
