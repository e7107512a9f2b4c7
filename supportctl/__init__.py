"""`supportctl`: the operators' command line, the outermost layer of the project.

What it owns:
- the command line itself (`main.py`): one module per command group, each with `register(subparsers)`:
  `commands` (dev, demo, seed, migrate), `customers`, `reconcile` (tickets reconcile), `outbox`,
  `webhooks`, `report`, `bugs`, `kb_cmd` (kb), `triage_cmd` (triage), `eval_cmd` (eval), `bench_cmd` (bench).
  Modules named after a top-level package of ours (kb, triage, bench) end in `_cmd`, so no
  `supportctl/kb.py` is ever mistaken for the `kb` package;
- what the operator sees (`console.py`): results on stdout, the JSON last line (`emit`), progress
  and one-line errors on stderr. Command names, flags, output text, exit codes and that JSON line are
  a fixed interface: scripts and graders call them;
- the local stack (`stack.py`: Temporal dev server, worker and API as child processes, and the dev
  server's command line, which `bench/stack.py` reuses) and the demo data (`prepare.py`, `demo.py`).

What it must not import:
- the service's running parts (`api`, `worker`, `agents`, `activities`, the workflow classes): it
  starts them as child processes or talks to them over HTTP and Temporal, never in-process;
- anything heavy at module level (`kb`, `triage`, `bench`, Qdrant, the embedding model): those are
  imported inside the command that needs them, so `supportctl --help` and light commands stay fast.

Nothing outside the measuring tools (`bench/`, `evals/`, which start the same local stack) and the tests may
import `supportctl`: the service never depends on its CLI.
"""
