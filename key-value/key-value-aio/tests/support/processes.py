"""Worker processes that start together: each touches `ready-<n>` in a start folder when it is set up,
and waits for `go`, which the test touches once all are ready, so their calls overlap."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path


def run_together(commands: list[list[str]], start_dir: Path, *, start_timeout: float, run_timeout: float) -> list[str]:
    """Run the commands, let them go together once every one is ready, and return their standard outputs;
    fail with a worker's standard error if one fails (or does not start or finish in time)."""
    workers = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for command in commands
    ]
    try:
        deadline = time.monotonic() + start_timeout
        while len(list(start_dir.glob("ready-*"))) < len(workers):
            failed = [worker for worker in workers if worker.poll() not in (None, 0)]
            assert not failed, failed[0].communicate()[1]
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.01)
        (start_dir / "go").touch()
        outputs: list[str] = []
        for index, worker in enumerate(workers):
            output, errors = worker.communicate(timeout=run_timeout)
            assert worker.returncode == 0, f"worker {index} failed:\n{errors}"
            outputs.append(output)
        return outputs
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


__all__ = ["run_together"]
