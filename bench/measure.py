"""Running a benchmark worker in its own process while polling its peak memory.

Shared by the bench scripts so every figure of "peak memory" means the same thing: the
largest sum of resident set sizes over the worker's whole process tree (children included,
e.g. a local Spark JVM), polled every 20 ms with psutil (the `bench` extra).
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

POLL_SECONDS = 0.02


@dataclass
class Measured:
    returncode: int
    stdout: str
    stderr: str | None  # None when the worker's stderr passed through to the terminal
    wall_seconds: float
    peak_rss_bytes: int


def run_measured(command: list[str], *, cwd: str, env: dict[str, str], capture_stderr: bool = True) -> Measured:
    """Run ``command``; return its output, wall time and the peak RSS of its process tree."""
    import psutil

    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE if capture_stderr else None, text=True)
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            tree = [watched, *watched.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
        time.sleep(POLL_SECONDS)
    stdout, stderr = process.communicate()
    return Measured(process.returncode, stdout, stderr, time.perf_counter() - started, peak)
