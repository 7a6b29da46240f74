"""Timing loops shared by the benchmarks (no jax import: the PyTorch rows use it too)."""

import time

import numpy as np


def median_rate(step, calls: int, reps: int, warmup: int = 10) -> float:
    """Calls per second of `step()` (which must block until done): median of `reps` runs."""
    for _ in range(warmup):
        step()
    rates = []
    for _ in range(reps):
        start = time.perf_counter()
        for _ in range(calls):
            step()
        rates.append(calls / (time.perf_counter() - start))
    return float(np.median(rates))
