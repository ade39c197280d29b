"""Peak RSS and CPU time of the stack's processes, sampled on a thread every 0.2 s."""

from __future__ import annotations

import threading
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
        self.peak_rss = dict.fromkeys(self._processes, 0)
        self._cpu_start = {name: self._cpu(p) for name, p in self._processes.items()}
        self._cpu_end = dict(self._cpu_start)
        self._samples = 0
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
        self._samples += 1

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

    def result(self) -> dict[str, Any]:
        """Per process: peak RSS (MiB) and CPU seconds (user + system) over the window."""
        return {
            name: {
                "peak_rss_mib": round(self.peak_rss[name] / MIB, 1),
                "cpu_seconds": round(self._cpu_end[name] - self._cpu_start[name], 2),
            }
            for name in self._processes
        }

    @property
    def samples(self) -> int:
        return self._samples
