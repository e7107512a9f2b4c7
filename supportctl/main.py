"""`supportctl`: the operators' command line (local stack, demo, data loading, evaluation, benchmarks).

Each command group lives in its own module with a `register(subparsers)` function that adds its
parser and sets `func` (called with the parsed args and the settings, returning an exit code).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys

from pydantic import ValidationError
from pydantic_settings import SettingsError

from settings import get_settings
from supportctl import (
    bench_cmd,
    bugs,
    commands,
    customers,
    eval_cmd,
    kb_cmd,
    outbox,
    reconcile,
    report,
    reports_cmd,
    triage_cmd,
    webhooks,
)
from supportctl.console import fail, note
from supportctl.stack import StackError

# Command groups, in help order. A module here only has to define `register(subparsers)`.
GROUPS = [
    commands,
    customers,
    reconcile,
    outbox,
    webhooks,
    report,
    reports_cmd,
    bugs,
    kb_cmd,
    triage_cmd,
    eval_cmd,
    bench_cmd,
]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="supportctl", description="Durable AI customer support: operator commands.")
    sub = p.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
    return p


def _settings_error(e: SettingsError) -> str:
    """`FIELD: reason` from pydantic-settings' 'error parsing value for field "FIELD" from source …'."""
    field = re.search(r'field "([^"]+)"', str(e))
    reason = f"{e.__cause__}" if e.__cause__ is not None else str(e)
    if field is None:
        return reason
    return f'{field[1]}: not valid JSON ({reason}); a list setting takes JSON, e.g. ["team-lead", "support-manager"]'


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as e:  # a bad environment variable: name it, no traceback
        for err in e.errors():
            where = ".".join(str(part) for part in err["loc"])
            note(f"error: {where}: {err['msg']}")
        return 2
    except SettingsError as e:  # a value pydantic-settings could not even decode (a list that is not JSON)
        return fail(_settings_error(e), 2)
    try:
        code: int = args.func(args, settings)
        return code
    except StackError as e:  # a RuntimeError too: before the clause below, which re-raises the others
        return fail(str(e))
    except RuntimeError as e:
        from kb.errors import KnowledgeBaseLocked  # here, not at the top: kb loads Qdrant and the model (~1 s)

        if not isinstance(e, KnowledgeBaseLocked):
            raise
        return fail(str(e))
    except (OSError, ValueError) as e:
        return fail(str(e))
    except KeyboardInterrupt:
        return 130


def run() -> None:
    """The `supportctl` executable: `main`, then an exit that skips the interpreter's teardown.

    The Temporal client's Rust threads can outlive the event loop; tearing the interpreter down under
    them aborts the process now and then ("Fatal Python error: PyGILState_Release", exit -6) after the
    command has finished and printed its result (temporalio/sdk-python#300). Everything the commands
    write is flushed first; they clean up after themselves in `finally` blocks, never at exit."""
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
