"""What a change costs a user's first run: a clean `dvc repro` of the committed project (HEAD) and of an earlier
commit, in turn, on this machine (medians). `python bench/compare.py REV [REPEATS]`."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pipeline  # bench/ is on sys.path: `python bench/compare.py` runs from there


def clone_at(rev: str, folder: Path) -> Path:
    clone = folder / rev.replace("/", "_")
    subprocess.run(["git", "clone", "-q", str(pipeline.ROOT), str(clone)], check=True)
    subprocess.run(["git", "checkout", "-q", rev], cwd=clone, check=True)
    return clone


def main(rev: str, repeats: int = 3) -> None:
    with tempfile.TemporaryDirectory() as folder:
        clones = {rev: clone_at(rev, Path(folder)), "HEAD": clone_at("HEAD", Path(folder))}
        times: dict[str, list[float]] = {name: [] for name in clones}
        for _ in range(repeats):
            for name, clone in clones.items():
                times[name].append(pipeline.clean_repro(clone))
    before, after = (statistics.median(times[name]) for name in (rev, "HEAD"))
    change = f"{after / before - 1:+.1%}"
    print(f"clean dvc repro, median of {repeats} in turn: {rev} {before:.1f} s, HEAD {after:.1f} s ({change})")
    print({name: [round(value, 1) for value in values] for name, values in times.items()})


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3)
