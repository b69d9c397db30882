"""A process whose reporter outlives forked children, for the fork tests.

    python forker.py SPOOL --children N --before K --after M

It tracks K events and flushes them, forks N children that each track one
event (``--idle``: none) and leave through ``sys.exit`` (so atexit runs, as in a gunicorn worker),
waits for them, then tracks M more events, prints each randomId and hangs
(the test kills it with SIGKILL). The client comes from the JIGUANG_* variables.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from jiguang_growth import EventReporter, GrowthClient


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("spool")
    parser.add_argument("--children", type=int, default=2)
    parser.add_argument("--before", type=int, default=5)
    parser.add_argument("--after", type=int, default=10)
    parser.add_argument("--idle", action="store_true", help="the children never use the reporter")
    args = parser.parse_args()
    reporter = EventReporter(GrowthClient(timeout=2.0), spool=args.spool, close_timeout=600)
    for n in range(args.before):
        print(reporter.track({"cuid": 10000000000 + n, "eventName": "open_app", "itime": 1654076420772 + n}))
    assert reporter.flush(60)
    sys.stdout.flush()
    children = []
    for c in range(args.children):
        pid = os.fork()
        if pid == 0:
            if args.idle:
                sys.exit(0)
            n = 1000 + c
            print(
                reporter.track({"cuid": 10000000000 + n, "eventName": "open_app", "itime": 1654076420772 + n})
            )
            sys.stdout.flush()
            sys.exit(0)  # atexit: the child's reporter closes (flushing its own event), and nothing else
        children.append(pid)
    for pid in children:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    print("children done", flush=True)
    for n in range(2000, 2000 + args.after):
        print(reporter.track({"cuid": 10000000000 + n, "eventName": "open_app", "itime": 1654076420772 + n}))
    print("tracked", flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main()
