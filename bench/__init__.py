"""Benchmarks and chaos runs, on demand (`supportctl bench …`), never part of `make test`.

Each benchmark starts its own local stack (Temporal CLI dev server, worker, API) on free ports with its
own Postgres database and data folder, so it never touches `make dev`'s data, prints its figures as
one JSON object on the last stdout line and writes the same JSON to `bench/results/<name>-<ts>.json`.
Progress goes to stderr.
"""
