"""`workbench search ...` in a subprocess, with the job's closing benchmark made fast (tests/tiny_search.py)."""

import sys

from tests.tiny_search import fast_job_benchmark
from workbench.cli import main

if __name__ == "__main__":
    fast_job_benchmark()
    sys.exit(main(["search", *sys.argv[1:]]))
