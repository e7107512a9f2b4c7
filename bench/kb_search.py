"""KB search latency benchmark: the same as `supportctl bench kb` (see kb/benchmark.py).

Run: `.venv/bin/python bench/kb_search.py [--kb PATH] [--queries N]`; figures land in
bench/results/kb_search.json and the last stdout line is that JSON.
"""

import sys

from supportctl.main import main

if __name__ == "__main__":
    sys.exit(main(["bench", "kb", *sys.argv[1:]]))
