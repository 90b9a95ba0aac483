"""Timing and counting: microseconds per call (the median of several repeats after a warm-up), several steps timed
side by side in interleaved rounds, and how many times one call of a step enters numpy.

    us = time_us(step)                        wall time per call; clock=time.process_time for the process's CPU time
    us = side_by_side({name: step}, rounds)   {name: median over rounds}, every step timed once per round
    calls = numpy_calls(step)                 ufuncs and operators, indexing, numpy functions and array methods
"""
import sys
import time

import numpy as np


def time_us(fn, repeat=7, min_seconds=0.05, sync=None, clock=time.perf_counter):
    """Median over `repeat` runs of the time per call of fn(), in microseconds. sync: called before every clock
    read (a GPU's torch.cuda.synchronize: its calls return before the work is done). clock: time.process_time
    counts the CPU time of this process only, so that other processes on a shared machine inflate it less (for a
    process pinned to one core: its wall time less the time it waited for the core)."""
    sync = sync or (lambda: None)
    fn()  # warm-up: first-call costs (allocation, caches) are not what we measure
    number, t = 1, 0.0
    while True:  # calls per run: enough for a run to last min_seconds
        sync()
        t0 = clock()
        for _ in range(number):
            fn()
        sync()
        t = clock() - t0
        if t >= min_seconds:
            break
        number *= 2 if t == 0 else max(2, int(min_seconds / t * 1.2))
    runs = [t]
    for _ in range(repeat - 1):
        sync()
        t0 = clock()
        for _ in range(number):
            fn()
        sync()
        runs.append(clock() - t0)
    return float(np.median(runs)) / number * 1e6


def side_by_side(steps, rounds=3, **timing):
    """{name: us per call} for {name: step} timed in turn, `rounds` times over: the median of each one's rounds, so
    that a slow spell of the machine falls on every step alike. timing: time_us's arguments (a step with a sync
    of its own is given as (step, sync))."""
    runs = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            fn, sync = step if isinstance(step, tuple) else (step, None)
            runs[name].append(time_us(fn, sync=sync, **timing))
    return {name: float(np.median(r)) for name, r in runs.items()}


def print_timings(timings):
    """Print {what: (fused us, chunked us)} as aligned lines; return the 'backward' pair."""
    for what, (fused, chunked) in timings.items():
        print(f"{what + ':':19s} fused {fused:6.1f} us   chunked {chunked:6.1f} us   ({chunked / fused:.1f}x faster)")
    return timings["backward"]


# counting numpy calls

class Counted(np.ndarray):
    """A view that counts what is done with it: every ufunc (operators and reductions too), every numpy function,
    every index read or write. The same memory and the same arithmetic, only slower: for counting, never timing."""
    tally = None  # [calls, depth] while counting: a call made inside a counted call (np.take's own) is not counted

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        with _Call():
            out = kwargs.get("out")
            if out:
                kwargs["out"] = _plain(out)
            result = getattr(ufunc, method)(*_plain(inputs), **kwargs)
            if out:
                return out[0] if len(out) == 1 else out
            return _counted(result)

    def __array_function__(self, func, types, args, kwargs):
        with _Call():
            return super().__array_function__(func, types, args, kwargs)

    def __getitem__(self, key):
        with _Call():
            return _counted(np.ndarray.__getitem__(self, _plain(key)))

    def __setitem__(self, key, value):
        with _Call():
            np.ndarray.__setitem__(self, _plain(key), _plain(value))


class _Call:
    def __enter__(self):
        t = Counted.tally
        if t is not None:
            t[0] += t[1] == 0
            t[1] += 1

    def __exit__(self, *exc):
        if Counted.tally is not None:
            Counted.tally[1] -= 1


def _plain(x):
    if isinstance(x, tuple):
        return tuple(_plain(v) for v in x)
    return x.view(np.ndarray) if isinstance(x, np.ndarray) else x


def _counted(x):
    return x.view(Counted) if type(x) is np.ndarray else x


def counted(x):
    """x as a counting view (an array), or with every array in it made one (a dict's values, in place)."""
    if isinstance(x, np.ndarray):
        return x.view(Counted)
    if isinstance(x, dict):
        for k in x:
            x[k] = counted(x[k])
    return x


def _numpys(f):
    """Is the C function f numpy's: np.empty, an array's method, a random generator's?"""
    owner = getattr(f, "__self__", None)
    return (isinstance(owner, np.ndarray) or type(owner).__module__.startswith("numpy")
            or (getattr(f, "__module__", None) or "").startswith("numpy"))


def _counting(f):
    def call(*args, **kwargs):
        with _Call():
            return f(*args, **kwargs)
    return call


def numpy_calls(step):
    """How many times one call of step() enters numpy: each ufunc (an operator, a reduction such as .sum()), each
    numpy function, each index read or write, each array method (.reshape) and each BLAS routine step holds.
    The arrays and dicts of arrays in step's closure are swapped for counting views first and its BLAS routines
    wrapped, so count on a step made for counting, from counted() data. Attribute views (x.T) are not counted."""
    for cell in step.__closure__ or ():
        v = cell.cell_contents
        if isinstance(v, (np.ndarray, dict)):
            cell.cell_contents = counted(v)
        elif type(v).__name__ == "fortran":  # scipy.linalg.blas's routines: no profile event sees them
            cell.cell_contents = _counting(v)
    tally = [0, 0]

    def hook(frame, event, arg):  # C functions and methods (np.empty, x.reshape), not seen by Counted
        if event.startswith("c_") and _numpys(arg):
            if event == "c_call":
                tally[0] += tally[1] == 0
                tally[1] += 1
            else:
                tally[1] -= 1
    Counted.tally = tally
    sys.setprofile(hook)
    try:
        step()
    finally:
        sys.setprofile(None)
        Counted.tally = None
    return tally[0]
