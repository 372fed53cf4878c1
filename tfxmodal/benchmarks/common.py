"""What every benchmark section shares: timing a training step, counting parameters, memory."""

import resource
import sys
import time

import numpy as np


def time_step(step, batch, iterations, loss_key):
    """`(first call seconds, [seconds of each of `iterations` later calls])`."""

    started = time.perf_counter()
    float(step(batch)[loss_key])  # trace + first run
    first = time.perf_counter() - started
    times = []
    for _ in range(iterations):
        started = time.perf_counter()
        result = step(batch)
        float(result[loss_key])  # wait for the step to finish
        times.append(time.perf_counter() - started)
    return first, times


def count_params(variables):
    return int(sum(np.prod(w.shape) for w in variables))


def timing_summary(first, times, iterations):
    """The timing fields every training-step entry reports, from `time_step`'s result."""
    return {
        "seconds_per_iteration": round(float(np.mean(times)), 4),
        "seconds_per_iteration_min": round(float(np.min(times)), 4),
        "first_call_seconds": round(first, 2),
        "iterations": iterations,
    }


def peak_memory_mb():
    """Peak resident memory of this process so far, in MiB (`ru_maxrss`: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def meminfo_mb(field):
    """A `/proc/meminfo` field in MiB, or None where there is no such file."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                name, _, value = line.partition(":")
                if name == field:
                    return round(int(value.split()[0]) / 1024, 1)
    except OSError:
        pass
    return None
