"""Cache a slow function's results on disk, shared by processes: four workers ask for one cold result at
the same moment, and the function runs once.

`@cached(store)` keeps results in any store. On a store with the conditional segment (the DiskStore
here), the first caller takes a short-lived lock entry and the others wait for its result instead of
computing it again.

Usage: cached_calls.py                  run four workers on a DiskStore in a temporary directory
       cached_calls.py work DIR START   one worker: wait for START (a time.time()), then ask for the report
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from key_value.sync.cache import cached
from key_value.sync.stores.disk import DiskStore

WORKERS = 4


def make_report(directory: str) -> Any:
    store = DiskStore(directory=directory)

    @cached(store, collection="reports", ttl=3600, namespace="demo")
    def daily_report(day: str) -> dict[str, Any]:
        time.sleep(1.0)  # the slow part: a query, a model, a remote call
        return {"day": day, "computed_by": os.getpid(), "total": 1234}

    return daily_report


def work(directory: str, start: float) -> None:
    report = make_report(directory)
    time.sleep(max(0.0, start - time.time()))
    began = time.perf_counter()
    result = report("2026-12-07")
    waited = time.perf_counter() - began
    info = report.cache_info()
    print(json.dumps({"pid": os.getpid(), "result": result, "seconds": round(waited, 2), "calls": info.calls}))


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        start = time.time() + 1.5  # every worker is up by then
        workers = [
            subprocess.Popen(
                [sys.executable, __file__, "work", directory, str(start)], stdout=subprocess.PIPE, text=True
            )
            for _ in range(WORKERS)
        ]
        outputs = [json.loads(worker.communicate()[0]) for worker in workers]
        for output in outputs:
            role = "computed it" if output["calls"] else "waited for it"
            print(f"process {output['pid']}: {role} in {output['seconds']} s -> {output['result']}")
        computed = sum(output["calls"] for output in outputs)
        assert computed == 1, f"the report was computed {computed} times"
        assert len({json.dumps(output["result"]) for output in outputs}) == 1

        report = make_report(directory)  # a later process: a hit, then a fresh result after invalidate
        report("2026-12-07")
        assert report.cache_info().hits == 1
        report.invalidate("2026-12-07")
        fresh = report("2026-12-07")
        assert fresh["computed_by"] == os.getpid()
        print(f"later: {report.cache_info()}")
        print(f"{WORKERS} processes asked at once; the report was computed once, then again after invalidate")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "work":
        work(sys.argv[2], float(sys.argv[3]))
    else:
        main()
