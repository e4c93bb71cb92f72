#!/usr/bin/env python3
"""tandemd's resident memory through a call-rate ramp and after it: is it sofia's lingering
transactions, glibc's heap not given back, or a leak?

Starts PostgreSQL + Redis + tandemd through tests/integration/harness.py, runs callload steps
(bench_calls.run_rate: short calls with RTP, BYE after --hold-ms) at --rates for --step-seconds
each, then stays idle for --after seconds. VmRSS and VmHWM (/proc/PID/status) are sampled every
--sample seconds throughout. With --gdb, glibc's own view (mallinfo2: arena, in use, free) is
read by gdb at the end of the ramp, at the end of the idle time, and after a malloc_trim(0) called
from gdb, so the retained-but-free part of the heap shows directly.

    TANDEM_BUILD=build-rel python3 tests/bench/bench_memory.py --rates 400,400,400 --gdb

Every process started here is stopped on the way out; the whole script is bounded by
--time-limit, each callload run by its own limit."""
import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_calls import run_rate  # noqa: E402
from bench_relay import DOMAIN, Users, build_tool, cpu_seconds  # noqa: E402
from bench_register import _on_alarm, _on_term  # noqa: E402
from harness import Stack, api  # noqa: E402


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def mallinfo(pid):
    """glibc's arena figures in MB from gdb (arena: heap from sbrk, hblkhd: mmapped blocks,
    uordblks: in use, fordblks: free but kept), or {} when gdb cannot read them."""
    out = subprocess.run(
        ["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "set pagination off",
         "-ex", "p (long)mallinfo2().arena", "-ex", "p (long)mallinfo2().hblkhd",
         "-ex", "p (long)mallinfo2().uordblks", "-ex", "p (long)mallinfo2().fordblks"],
        capture_output=True, text=True, timeout=60).stdout
    vals = [int(v) for v in re.findall(r"^\$\d+ = (-?\d+)", out, re.M)]
    if len(vals) != 4:
        return {}
    return dict(zip(("arena", "mmapped", "in_use", "free"), (v / 2**20 for v in vals)))


def malloc_trim(pid):
    subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "call (int)malloc_trim(0)"],
                   capture_output=True, text=True, timeout=60)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rates", default="400,400,400", help="calls/s of each step, in order")
    ap.add_argument("--step-seconds", type=float, default=10)
    ap.add_argument("--rtp", type=int, default=5)
    ap.add_argument("--hold-ms", type=int, default=200)
    ap.add_argument("--after", type=float, default=60, help="idle seconds watched after the ramp")
    ap.add_argument("--sample", type=float, default=1)
    ap.add_argument("--log-level", default="warn", help="tandemd's (info shows its heap trims)")
    ap.add_argument("--gdb", action="store_true", help="read mallinfo2 and try malloc_trim")
    ap.add_argument("--time-limit", type=int, default=600)
    args = ap.parse_args()
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGTERM, _on_term)
    signal.alarm(args.time_limit)
    stack, samples, stop = None, [], threading.Event()
    try:
        stack = Stack()
        tools = {"callload": build_tool(stack.root, "callload", "CALLLOAD")}
        node = stack.node("mem", log__level=args.log_level, security__rate_limit=0,
                          security__ban_failures=0, media__port_min=30000,
                          media__port_max=39999)
        status, tenant = api(node, "POST", "/v1/tenants", stack.key,
                             {"name": "Mem", "domain": DOMAIN})
        if status != 201:
            raise RuntimeError(f"tenant: {status} {tenant}")
        users = Users(stack, tenant["id"])
        pid, t0 = node.proc.pid, time.monotonic()

        def sampler():
            while not stop.is_set():
                samples.append((time.monotonic() - t0, status_kb(pid, "VmRSS") / 1024))
                stop.wait(args.sample)

        threading.Thread(target=sampler, daemon=True).start()
        time.sleep(2)
        print(f"idle before: RSS {status_kb(pid, 'VmRSS') / 1024:.0f} MB", flush=True)
        total = 0
        for rate in (float(r) for r in args.rates.split(",") if r):
            row = run_rate(tools, node, users, lambda: {"tandemd": cpu_seconds(pid)}, rate, args)
            total += row["ok"]
            print(f"  {rate:.0f}/s: ok {row['ok']} failed {row['failed']} retx "
                  f"{row['retransmits']}; {total} calls so far, RSS "
                  f"{status_kb(pid, 'VmRSS') / 1024:.0f} MB", flush=True)
        t_end = time.monotonic() - t0
        if args.gdb:
            print(f"end of ramp: mallinfo2 {mallinfo(pid)}", flush=True)
        time.sleep(args.after)
        print(f"{args.after:.0f} s after: RSS {status_kb(pid, 'VmRSS') / 1024:.0f} MB, peak "
              f"{status_kb(pid, 'VmHWM') / 1024:.0f} MB", flush=True)
        if args.gdb:
            print(f"{args.after:.0f} s after: mallinfo2 {mallinfo(pid)}", flush=True)
            malloc_trim(pid)
            time.sleep(1)
            print(f"after malloc_trim(0): RSS {status_kb(pid, 'VmRSS') / 1024:.0f} MB, "
                  f"mallinfo2 {mallinfo(pid)}", flush=True)
        stop.set()
        trims = [l for l in node.log().splitlines() if "heap trimmed" in l]
        print("tandemd's heap trims (node/sip/heap_trim.c, logged at info):\n  " +
              ("\n  ".join(trims) if trims else "none in the log"))
        print(f"ramp ended at {t_end:.0f} s; RSS samples (s, MB):")
        print(" ".join(f"{t:.0f}:{mb:.0f}" for t, mb in samples[::max(1, len(samples) // 60)]))
        return 0
    finally:
        stop.set()
        signal.alarm(0)
        if stack:
            codes = stack.close()
            print(f"exit codes: {codes}")


if __name__ == "__main__":
    sys.exit(main())
