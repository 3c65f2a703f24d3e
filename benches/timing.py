"""Timing helpers shared by the benchmarks: medians after warm-up; CUDA timed with
events on the current stream, CPU with perf_counter over many repetitions."""
import platform
import statistics
import time

import torch


def machine_name(device):
    """A short description of the machine that ran a benchmark, for result tables."""
    if str(device).startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {torch.get_num_threads()} threads"


def median_time(fn, device="cpu", warmup=5, reps=50, min_seconds=0.2):
    """Median seconds per call of fn() on device (reps grows until min_seconds pass)."""
    for _ in range(warmup):
        fn()
    times = []
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()
        start_all = time.perf_counter()
        while len(times) < reps or time.perf_counter() - start_all < min_seconds:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
            if len(times) >= 10 * reps:
                break
    else:
        start_all = time.perf_counter()
        while len(times) < reps or time.perf_counter() - start_all < min_seconds:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
            if len(times) >= 10 * reps:
                break
    return statistics.median(times)


def format_table(rows, headers):
    """Plain-text table (also valid Markdown)."""
    cols = list(zip(*([headers] + [[str(c) for c in r] for r in rows]))) if rows else [[h] for h in headers]
    widths = [max(len(str(x)) for x in col) for col in cols]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)
