"""What every benchmark section shares: timing a training step, counting parameters, memory."""

import json
import resource
import subprocess
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


def own_peak_memory_mb():
    """Peak resident memory of this process's own program, in MiB.

    Linux's `VmHWM` (`/proc/self/status`) counts only what the process
    touched since its `exec`; `ru_maxrss` also keeps the parent's peak from
    before it (`exec` carries the old address space's high-water mark over),
    so a child started by a large parent would report the parent's size.
    Falls back to `peak_memory_mb` where there is no `/proc`.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return peak_memory_mb()


def in_own_process(module, function, **kwargs):
    """`module.function(**kwargs)` (a dict) in a fresh Python process, plus that process's own peak memory.

    Peak resident memory never falls within a process, so entries measured
    one after another in one process would each report the largest so far;
    here each gets `peak_memory_mb` of its own (`own_peak_memory_mb`, read
    in the child). A failure raises with the child's last lines of stderr.
    """
    code = (
        "import json, sys\n"
        "from tfxmodal.benchmarks.common import own_peak_memory_mb\n"
        f"from {module} import {function} as function\n"
        "result = dict(function(**json.loads(sys.argv[1])))\n"
        "result['peak_memory_mb'] = own_peak_memory_mb()\n"
        "print('\\n' + json.dumps(result))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code, json.dumps(kwargs)], capture_output=True, text=True)
    if completed.returncode != 0:
        tail = "".join(completed.stderr.splitlines(keepends=True)[-10:])
        raise RuntimeError(f"{module}.{function}({kwargs}) exited with {completed.returncode}:\n{tail}")
    return json.loads(completed.stdout.strip().splitlines()[-1])
