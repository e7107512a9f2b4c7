"""Does the precedents prior generalise? The answers check, one spent set left out of the precedents.

``python -m evals.precedents_leave_one_out [--sets blind blind2 ...] [--precedents all|sets|written]``

For each set K: the demo help centre is searched with the precedents of every set but K
(``kb/precedents.jsonl``) and the written ones (``kb/precedents_written.jsonl``, not derived from any set,
so always in), and ``evals.answers_check`` runs on K's calm tickets; ``--precedents sets`` leaves the
written ones out, ``--precedents written`` takes them alone (a help centre with no past tickets). The
baseline is the same check with no precedents at all. Prints each set's figures and the totals (article
cited; article and half the facts). Only the spent sets are opened (``evals.precedent_examples.SPENT``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from evals.answers_check import AnswerCheck, check_file, open_demo_kb
from evals.precedent_examples import SPENT, set_path
from kb.precedents import PRECEDENT_FILES, PRECEDENTS_FILE, WRITTEN_FILE, Precedents

LEFT_OUT = tuple(s for s in SPENT if s != "dev")
FILES = {"all": PRECEDENT_FILES, "sets": (PRECEDENTS_FILE,), "written": (WRITTEN_FILE,)}


def totals(results: Sequence[AnswerCheck]) -> tuple[int, int, int]:
    """(article cited, article and half the facts, tickets)."""
    useful = sum(r.article_hit and r.facts >= 0.5 for r in results)
    return sum(r.article_hit for r in results), useful, len(results)


async def run(sets: Sequence[str], baseline: bool, files: Sequence[Path] = PRECEDENT_FILES) -> None:
    sums = {"without": [0, 0, 0], "left out": [0, 0, 0]}
    plain = await open_demo_kb(Precedents([])) if baseline else None
    for name in sets:
        kinds = [("left out", await open_demo_kb(Precedents.load(files, leave_out=name) or Precedents([])))]
        if plain is not None:
            kinds.insert(0, ("without", plain))
        for kind, kb in kinds:
            sys.stdout.write(f"== {name}, precedents {kind}\n")
            hit, useful, n = totals(await check_file(kb, set_path(name), show=False))
            sums[kind] = [a + b for a, b in zip(sums[kind], (hit, useful, n), strict=True)]
    for kind, (hit, useful, n) in sums.items():
        if n:
            sys.stdout.write(
                f"TOTAL precedents {kind}: article cited {hit}/{n}, article and half the facts {useful}/{n}\n"
            )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m evals.precedents_leave_one_out")
    parser.add_argument("--sets", nargs="+", default=list(LEFT_OUT), choices=SPENT)
    parser.add_argument("--baseline", action="store_true", help="also run each set without any precedents")
    parser.add_argument("--precedents", choices=FILES, default="all", help="which precedent files (default all)")
    args = parser.parse_args(argv)
    asyncio.run(run(args.sets, args.baseline, FILES[args.precedents]))


if __name__ == "__main__":
    main()
