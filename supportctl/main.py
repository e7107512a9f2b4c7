"""`supportctl`: the operators' command line (local stack, demo, data loading, evaluation, benchmarks).

Each command group lives in its own module with a `register(subparsers)` function that adds its
parser and sets `func` (called with the parsed args and the settings, returning an exit code).
"""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from settings import get_settings
from supportctl import bench, commands, knowledge
from supportctl.stack import StackError

# Command groups, in help order. A module here only has to define `register(subparsers)`.
GROUPS = [commands, knowledge, bench]  # bench last: it adds to the `bench` group knowledge registers


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="supportctl", description="Durable AI customer support: operator commands.")
    sub = p.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as e:  # a bad environment variable: name it, no traceback
        for err in e.errors():
            where = ".".join(str(part) for part in err["loc"])
            print(f"error: {where}: {err['msg']}", file=sys.stderr)
        return 2
    try:
        code: int = args.func(args, settings)
        return code
    except StackError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
