#!/usr/bin/env python3
"""CPU per transcoded call-second, PCMU <-> Opus, with many calls at once.

Runs xcodeload (tests/bench/xcodeload.c, built by CMake from the node's own media_transcode.c
and media_codec.c) for each number of concurrent calls: every call transcodes both directions
(A's PCMU to Opus toward B, B's Opus to PCMU toward A) 50 packets per second each, on one
thread, as one media thread does. Reports CPU microseconds per call-second, per packet, and
how many such calls one core could carry. Sockets are left out on purpose: bench_relay.py
measures the relay's per-packet cost, which a transcoded call pays on top of this.

    TANDEM_BUILD=build-bench python3 tests/bench/bench_transcode.py [--calls 50,200,500]
        [--seconds 10] [--runs 3] [--json out.json]

Use a build without sanitizers (-DTANDEM_SANITIZE=OFF): ASan/UBSan slow the codecs' callers,
not libopus itself, but still distort the figure."""
import argparse
import json
import os
import subprocess
import sys

BUILD = os.environ.get("TANDEM_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))


def run(exe, calls, seconds):
    out = subprocess.run([exe, str(calls), str(seconds)], capture_output=True, text=True,
                         timeout=600, check=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("xcodeload "))
    return {k: float(v) for k, v in (w.split("=", 1) for w in line.split()[1:])}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", default="50,200,500")
    ap.add_argument("--seconds", type=int, default=10, help="call time per run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args()
    exe = os.path.join(BUILD, "tests", "bench", "xcodeload")
    if not os.access(exe, os.X_OK):
        sys.exit(f"{exe} not built (cmake --build {BUILD} --target xcodeload)")
    results = []
    print(f"{'calls':>6} {'run':>4} {'us/call-s':>10} {'us/packet':>10} {'calls/core':>11} "
          f"{'load':>5}")
    for calls in (int(c) for c in args.calls.split(",")):
        for i in range(args.runs):
            r = run(exe, calls, args.seconds)
            r["load"] = os.getloadavg()[0]
            results.append(r)
            print(f"{calls:>6} {i + 1:>4} {r['cpu_us_per_call_second']:>10.0f} "
                  f"{r['cpu_us_per_packet']:>10.1f} {r['calls_per_core']:>11.0f} "
                  f"{r['load']:>5.1f}")
    best = min(r["cpu_us_per_call_second"] for r in results)
    print(f"best: {best:.0f} us CPU per transcoded call-second "
          f"(~{1e6 / best:.0f} PCMU<->Opus calls per core, codec path only)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
