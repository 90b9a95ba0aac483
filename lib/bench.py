"""Timing: microseconds per call, the median of several repeats after a warm-up."""
import time

import numpy as np


def time_us(fn, repeat=7, min_seconds=0.05, sync=None):
    """Median over `repeat` runs of the time per call of fn(), in microseconds. sync: called before every clock
    read (a GPU's torch.cuda.synchronize: its calls return before the work is done)."""
    sync = sync or (lambda: None)
    fn()  # warm-up: first-call costs (allocation, caches) are not what we measure
    number, t = 1, 0.0
    while True:  # calls per run: enough for a run to last min_seconds
        sync()
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        sync()
        t = time.perf_counter() - t0
        if t >= min_seconds:
            break
        number *= 2 if t == 0 else max(2, int(min_seconds / t * 1.2))
    runs = [t]
    for _ in range(repeat - 1):
        sync()
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        sync()
        runs.append(time.perf_counter() - t0)
    return float(np.median(runs)) / number * 1e6


def print_timings(timings):
    """Print {what: (fused us, chunked us)} as aligned lines; return the 'backward' pair."""
    for what, (fused, chunked) in timings.items():
        print(f"{what + ':':19s} fused {fused:6.1f} us   chunked {chunked:6.1f} us   ({chunked / fused:.1f}x faster)")
    return timings["backward"]
