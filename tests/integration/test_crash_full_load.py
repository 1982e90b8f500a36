"""tests/integration/test_crash_full_load.py - no acknowledged span is lost at full
load with every trace kept, by kill -9 or by a SIGTERM that leaves kept traces
still queued for copying.

The load generator sends as fast as it can (2 workers x 32 requests in flight, 16
traces x 8 spans per request), so the keep queue is long when ottrd stops: a
SIGTERM finishes quickly and leaves what it did not copy in pending, which the
next start replays. The checks are those of test_crash_kill9.py; the seed is
printed and taken back the same way (--seed N or OTTR_CRASH_SEED=N)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_crash_kill9 import run  # noqa: E402

if __name__ == "__main__":
    run(sys.argv[1:], ["--workers", "2", "--inflight", "32", "--traces-per-request", "16",
                       "--spans-per-trace", "8"], ["kill", "term", "kill"])
