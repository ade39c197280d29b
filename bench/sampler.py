"""Peak RSS and CPU time of the stack's processes, sampled on a thread every 0.2 s."""

from __future__ import annotations

import threading
import time
from typing import Any

import psutil

MIB = 1024 * 1024


class ProcessSampler:
    def __init__(self, pids: dict[str, int], interval: float = 0.2) -> None:
        self._interval = interval
        self._stop = threading.Event()
        self._processes: dict[str, psutil.Process] = {}
        for name, pid in pids.items():
            try:
                self._processes[name] = psutil.Process(pid)
            except psutil.NoSuchProcess:
                continue
        self._processes["driver"] = psutil.Process()  # this process: the load generator
        self.peak_rss = dict.fromkeys(self._processes, 0)
        self._machine_start = psutil.cpu_times()
        self._wall_start = time.monotonic()
        self._cpu_start = {name: self._cpu(p) for name, p in self._processes.items()}
        self._cpu_end = dict(self._cpu_start)
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    @staticmethod
    def _cpu(process: psutil.Process) -> float:
        try:
            times = process.cpu_times()
        except psutil.Error:
            return 0.0
        return float(times.user + times.system)

    def _sample(self) -> None:
        for name, process in self._processes.items():
            try:
                rss = process.memory_info().rss
            except psutil.Error:
                continue
            self.peak_rss[name] = max(self.peak_rss[name], rss)
            self._cpu_end[name] = self._cpu(process)

    def _run(self) -> None:
        self._sample()
        while not self._stop.wait(self._interval):
            self._sample()

    def __enter__(self) -> ProcessSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self._machine_end = psutil.cpu_times()
        self._wall_end = time.monotonic()

    def result(self) -> dict[str, Any]:
        """Per process: peak RSS (MiB) and CPU seconds (user + system) over the window."""
        return {
            name: {
                "peak_rss_mib": round(self.peak_rss[name] / MIB, 1),
                "cpu_seconds": round(self._cpu_end[name] - self._cpu_start[name], 2),
            }
            for name in self._processes
        }

    def machine(self) -> dict[str, Any]:
        """The whole machine over the window: how busy it was, and how much of that was not
        us (other processes on a shared machine make a run slower than it should be)."""
        start, end = self._machine_start, self._machine_end
        busy = sum(end) - sum(start) - (end.idle - start.idle) - (end.iowait - start.iowait)
        ours = sum(self._cpu_end[n] - self._cpu_start[n] for n in self._processes)
        wall = self._wall_end - self._wall_start
        capacity = wall * (psutil.cpu_count() or 1)
        return {
            "seconds": round(wall, 2),
            "busy_share": round(busy / capacity, 3) if capacity else None,
            "other_processes_share": round(max(0.0, busy - ours) / capacity, 3)
            if capacity
            else None,
            "steal_seconds": round(end.steal - start.steal, 2),
        }
