"""A process that tracks events into a spool, for the crash, multi-process, exit and disk tests.

    python child.py SPOOL --count N [--first K] [--print-ids] [--end close|atexit|hang]
                    [--go FILE] [--file-limit BYTES] [--close-timeout SECONDS]
                    [--scan-interval SECONDS]

The client comes from the JIGUANG_* environment variables. ``--print-ids``
prints each event's randomId once ``track`` has returned. ``--go`` waits for
FILE to exist before tracking (to start several processes together). The last
line is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sys
import time

from jiguang_growth import EventReporter, GrowthClient, SpoolError


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("spool")
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--print-ids", action="store_true")
    parser.add_argument("--end", choices=["close", "atexit", "hang"], default="close")
    parser.add_argument("--go")
    parser.add_argument("--file-limit", type=int)
    parser.add_argument("--close-timeout", type=float, default=10.0)
    parser.add_argument("--scan-interval", type=float, default=30.0)
    args = parser.parse_args()
    client = GrowthClient(timeout=2.0)
    reporter = EventReporter(
        client, spool=args.spool, close_timeout=args.close_timeout, scan_interval=args.scan_interval
    )
    if args.file_limit is not None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing us
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.file_limit, args.file_limit))
    if args.go:
        while not os.path.exists(args.go):
            time.sleep(0.005)
    out = sys.stdout
    tracked = 0
    error = None
    for n in range(args.first, args.first + args.count):
        try:
            random_id = reporter.track(
                {"cuid": 10000000000 + n, "eventName": "open_app", "itime": 1654076420772 + n}
            )
        except SpoolError as failure:
            error = {"type": type(failure).__name__, "errno": failure.errno, "message": str(failure)}
            break
        tracked += 1
        if args.print_ids:
            out.write(f"{random_id}\n")
            out.flush()
    if args.end == "hang":
        out.write("tracked\n")
        out.flush()
        time.sleep(600)
    summary = {"tracked": tracked, "error": error}
    if args.end == "close":
        reporter.flush(60)
        reporter.close()
        summary.update(reporter.stats.as_dict())
        summary["tracked"] = tracked
    out.write(json.dumps(summary) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
