"""Why a 2-thread process is sometimes slow on an idle machine: where its threads run.

Idle-machine probe: a 2-thread (or 1-thread) loop of ten products at the RSC15 step's shapes in a
child process; the parent samples every 2 ms each thread's state and CPU
(/proc/PID/task/TID/stat fields 3 and 39) and reports per 1 s window: steps/s, and for
the two busiest threads the share of samples where both were runnable and the share
where they were on the same CPU. The sampling parent itself takes part of a CPU, so the
machine is not quite idle while it runs (benches/results/cpu_threads_2026-11-29.md).

    python benches/thread_placement.py [PAIRS]
"""
import json, os, subprocess, sys, time
CHILD = r'''
import sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
g = torch.Generator().manual_seed(0)
r = lambda *s: torch.randn(*s, generator=g)
x, Wx, h, Wrz, Wh = r(32, 100), r(100, 300), r(32, 100), r(100, 200), r(100, 100)
WyY, dS = r(2080, 100), r(32, 2080)
def step():
    torch.addmm(r0, x, Wx); torch.mm(h, Wrz); torch.mm(h, Wh)
    torch.mm(WyY, x.t()); torch.mm(dS, WyY); torch.mm(dS.t(), x)
    torch.mm(x.t(), r1); torch.mm(r1, Wx.t()); torch.mm(h.t(), r2); torch.mm(h.t(), r3)
r0 = torch.zeros(300); r1, r2, r3 = r(32, 300), r(32, 200), r(32, 100)
for _ in range(50): step()
print("ready", flush=True)
for w in range(6):
    t0 = time.perf_counter(); n = 0
    while time.perf_counter() - t0 < 1.0:
        step(); n += 1
    print(f"win {w} {n / (time.perf_counter() - t0):.0f}", flush=True)
'''
def sample(pid):
    out = {}
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                s = open(f"/proc/{pid}/task/{tid}/stat").read()
            except OSError:
                continue
            f = s[s.rindex(")") + 2:].split()
            out[tid] = (f[0], int(f[36]), int(f[11]))   # state, processor, utime
    except OSError:
        pass
    return out
def run(threads):
    p = subprocess.Popen([sys.executable, "-c", CHILD, str(threads)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().startswith("ready")
    os.set_blocking(p.stdout.fileno(), False)
    wins, samples, buf = [], [], ""
    while p.poll() is None or buf:
        samples.append((time.perf_counter(), sample(p.pid)))
        try:
            chunk = p.stdout.read()
        except TypeError:
            chunk = None
        if chunk:
            buf += chunk
            *lines, buf = buf.split("\n")
            for l in lines:
                if l.startswith("win"):
                    wins.append((time.perf_counter(), int(l.split()[2])))
        elif p.poll() is not None:
            break
        time.sleep(0.002)
    # the two busiest threads over the run
    first, last = samples[0][1], samples[-1][1]
    busy = sorted(last, key=lambda t: last[t][2] - first.get(t, (0, 0, last[t][2]))[2], reverse=True)[:2]
    both_r = same_cpu = n = 0
    for _, s in samples:
        if all(t in s for t in busy) and len(busy) == 2:
            n += 1
            a, b = s[busy[0]], s[busy[1]]
            both_r += a[0] == "R" and b[0] == "R"
            same_cpu += a[1] == b[1]
    util = sorted(((last[t][2] - first.get(t, (0, 0, 0))[2]) for t in last), reverse=True)[:3]
    return [w for _, w in wins], (both_r / n if n else None), (same_cpu / n if n else None), len(samples), util
for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 4):
    for th in (2, 2, 1):
        wins, br, sc, ns, util = run(th)
        print(json.dumps({"threads": th, "steps_per_s": wins, "both_runnable": br, "same_cpu": sc,
                          "samples": ns, "top_thread_ticks": util, "load": os.getloadavg()[0]}), flush=True)
