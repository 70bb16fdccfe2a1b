"""Run one command; print its wall and CPU time, peak RSS and exit code as JSON.

    python bench/measure.py STDOUT_FILE|- -- COMMAND...

A small process of its own, so that the peak RSS is the command's: Linux carries a
process's peak RSS across fork and exec, so a child started straight from a large
benchmark process (pandas data in memory) would report the parent's size. This helper
is a few MiB, and reports ``RUSAGE_CHILDREN`` of the command it starts.
"""

import json
import resource
import subprocess
import sys
import time


def main() -> int:
    target, sep, *argv = sys.argv[1:]
    if sep != "--" or not argv:
        raise SystemExit(__doc__)
    with open(target if target != "-" else "/dev/null", "wb") as out:
        start = time.perf_counter()
        code = subprocess.call(argv, stdout=out)
        elapsed = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = {
        "seconds": elapsed,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "max_rss_kib": usage.ru_maxrss,  # KiB on Linux
        "returncode": code,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
