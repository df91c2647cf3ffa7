"""The train stage's walk: the stage script and the tinynets functions it calls, in the order a reader meets
them (each function's first call, depth first), counted in stops (a stop: consecutive functions of one module).

    python tools/walk.py DATASET [--depth N]   # from a project whose validate and featurize stages have run

Calls deeper than --depth (the stage's own function is depth 0) are left out: the default, 2, is the stage's
calls and theirs, what ARCHITECTURE.md's "a short train stage" counts.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def walk(dataset: str, depth: int) -> list[tuple[str, str, int]]:
    """(module, function, depth) of each project function the train stage calls, first calls only, in order."""
    sys.path.insert(0, str(ROOT))
    from stages import train

    ours = (str(ROOT / "tinynets"), str(ROOT / "stages"))
    seen, order, stack = set(), [], []

    def profile(frame, event, arg):
        if event not in ("call", "return"):
            return
        code = frame.f_code
        if not code.co_filename.startswith(ours):
            return
        if event == "return":
            if stack and stack[-1] is frame:
                stack.pop()
            return
        stack.append(frame)
        level = sum(not entered.f_code.co_name.startswith("<") for entered in stack) - 1  # a comprehension: no level
        if code in seen or level > depth or code.co_name.startswith("<"):
            return
        seen.add(code)
        module = Path(code.co_filename).relative_to(ROOT).with_suffix("").as_posix()
        order.append((module, code.co_qualname, level))

    sys.setprofile(profile)
    try:
        train.train(dataset)
    finally:
        sys.setprofile(None)
    return order


def stops(order: list[tuple[str, str, int]]) -> list[tuple[str, list[str]]]:
    """The walk as stops: each run of consecutive functions in one module."""
    grouped: list[tuple[str, list[str]]] = []
    for module, function, _ in order:
        if grouped and grouped[-1][0] == module:
            grouped[-1][1].append(function)
        else:
            grouped.append((module, [function]))
    return grouped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--depth", type=int, default=2)
    args = parser.parse_args()
    walked = stops(walk(args.dataset, args.depth))
    for module, functions in walked:
        print(f"{module}: {', '.join(functions)}")
    entered: dict[str, int] = {}
    for module, _ in walked:
        entered[module] = entered.get(module, 0) + 1
    most = max(entered, key=entered.get)
    print(f"{len(walked)} stops in {len(entered)} modules; most entered: {most} ({entered[most]} times)")


if __name__ == "__main__":
    main()
