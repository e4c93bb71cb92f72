#!/usr/bin/env python3
"""Calls per second through tandemd with anchored media, CPU per call, and concurrent calls.

Starts PostgreSQL + Redis + tandemd through tests/integration/harness.py, then:

1. Call rate. callload (tests/bench/callload.c) runs short calls at a fixed rate for
   --step-seconds, stepping through --rates until the first step with a failed call: INVITE ->
   407 -> INVITE with digest -> 100/180/200 -> ACK, --rtp packets of 20 ms PCMU each way
   through the node's relay, BYE after --hold-ms. A call fails on a non-2xx final answer, no
   answer within 8 s, a BYE without 200, or no RTP arriving in a direction. For each step:
   calls/s achieved, setup time (first INVITE to 200, the 407 round included) p50/p99,
   callload's retransmissions, and the CPU (utime + stime from /proc) of tandemd, and of tandemd
   + Redis + PostgreSQL, per completed call (set-up and tear-down, CDR included). "Clean" means
   no failed call and no retransmission; the last clean rate is reported with the first failed.
2. Concurrent calls. For each N in --concurrent: N calls set up at --setup-rate and held while
   rtpflood (tests/bench/rtpflood.c) sends 20 ms RTP both ways on every call for --window
   seconds; loss, relay latency and tandemd's CPU are recorded. Stops at the first N with loss
   over --max-loss %, a failed call, or a failed BYE.

No peer runs here (the issue asks for none on call rate); bench_relay.py compares the relay with
rtpengine.

    TANDEM_BUILD=build-bench python3 tests/bench/bench_calls.py [--rates 25,50,...] \
        [--concurrent 100,250,500,750,1000]

Every process started here is stopped on the way out, whatever happens; the whole script is
bounded by --time-limit, each callload and rtpflood run by its own limit."""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_relay import (DOMAIN, PASSWORD, Users, build_tool, cpu_seconds, loadavg,  # noqa: E402
                         parse_line, relay_through_tandem)
from bench_register import _on_alarm, _on_term, postmaster_pid, rss_kb  # noqa: E402
from harness import Stack, api  # noqa: E402


def run_rate(tools, node, users, meter, rate, args):
    """One step of the call-rate ramp; CPU is sampled once the callees are registered."""
    m = min(100, max(10, int(rate)))
    cmd = [tools["callload"], "--target", f"127.0.0.1:{node.sip_port}", "--domain", DOMAIN,
           "--password", PASSWORD, "--users", str(m), "--user-base", str(users.take(m)),
           "--rate", str(rate), "--seconds", str(args.step_seconds), "--rtp", str(args.rtp),
           "--hold-ms", str(args.hold_ms), "--max-seconds", str(int(args.step_seconds + 60))]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    before = result = None
    gen0 = gen1 = 0.0
    try:
        for line in p.stdout:
            if line.startswith("callload-phase registered"):
                before = meter()
                gen0 = cpu_seconds(p.pid)
            elif line.startswith("callload "):
                gen1 = cpu_seconds(p.pid)  # still alive: it exits after this line
                result = parse_line(line)
        p.wait(30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    after = meter()
    err = p.stderr.read()
    if result is None or before is None:
        raise RuntimeError(f"callload at {rate}/s gave no result (exit {p.returncode}): "
                           f"{err[-2000:]}")
    cpu = {k: after[k] - before[k] for k in before}
    ok = int(result["ok"])
    span = float(result["span"])
    return {"rate": rate, "calls": int(result["calls"]), "ok": ok,
            "failed": int(result["failed"]) + int(result["not_started"]),
            "achieved_cps": ok / span if span else 0.0,
            "setup_p50_ms": float(result["setup_p50_ms"]),
            "setup_p99_ms": float(result["setup_p99_ms"]),
            "retransmits": int(result["retransmits"]), "peak_active": int(result["peak_active"]),
            "rtp_loss": int(result["rtp_sent"]) - int(result["rtp_received"]),
            "codes": result["codes"],
            "cpu_ms_per_call": 1000 * cpu["tandemd"] / ok if ok else float("nan"),
            "all_cpu_ms_per_call": 1000 * sum(cpu.values()) / ok if ok else float("nan"),
            "tandemd_cpu_pct": 100 * cpu["tandemd"] / span if span else 0.0,
            "gen_cpu_pct": 100 * (gen1 - gen0) / span if span else 0.0,
            "stderr": err[-1500:]}


def print_rates(rows):
    head = (f"{'rate':>6}{'calls':>7}{'ok':>7}{'failed':>7}{'cps':>7}{'p50 ms':>8}{'p99 ms':>8}"
            f"{'retx':>6}{'peak':>6}{'CPU %':>7}{'ms/call':>8}{'all ms':>8}{'gen %':>7}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['rate']:>6.0f}{r['calls']:>7}{r['ok']:>7}{r['failed']:>7}{r['achieved_cps']:>7.0f}"
              f"{r['setup_p50_ms']:>8.1f}{r['setup_p99_ms']:>8.1f}{r['retransmits']:>6}"
              f"{r['peak_active']:>6}{r['tandemd_cpu_pct']:>7.1f}{r['cpu_ms_per_call']:>8.2f}"
              f"{r['all_cpu_ms_per_call']:>8.2f}{r['gen_cpu_pct']:>7.1f}")


def print_concurrent(rows):
    head = (f"{'calls':>6}{'ok':>6}{'pkt/s':>8}{'loss %':>8}{'p99 us':>8}{'CPU %':>7}"
            f"{'media %':>8}{'us/pkt':>8}{'gen %':>7}{'late':>6}{'setup s':>8}{'RSS MB':>8}")
    print(head)
    print("-" * len(head))
    for r in rows:
        if "error" in r:
            print(f"{r['calls']:>6}  failed: {r['error'][:100]}")
            continue
        print(f"{r['calls']:>6}{r['calls_ok']:>6}{r['window_pps']:>8.0f}{r['loss_pct']:>8.3f}"
              f"{r['lat_p99_us']:>8.0f}{r['cpu_pct']:>7.1f}{r['media_cpu_pct']:>8.1f}"
              f"{r['us_per_pkt']:>8.2f}{r['gen_cpu_pct']:>7.1f}{r['late_ticks']:>6}"
              f"{r['setup_s']:>8.1f}{r['rss_mb']:>8.0f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rates", default="25,50,100,200,300,400,600,800,1000,1200,1500,2000",
                    help="calls/s steps, in order, until the first failed call")
    ap.add_argument("--step-seconds", type=float, default=5)
    ap.add_argument("--rtp", type=int, default=5, help="RTP packets each way per call")
    ap.add_argument("--hold-ms", type=int, default=200, help="answer to BYE")
    ap.add_argument("--concurrent", default="100,250,500,750,1000",
                    help="held calls with RTP, in order, until loss or failure (at most 1000)")
    ap.add_argument("--window", type=float, default=20, help="seconds of RTP per held step")
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--setup-rate", type=int, default=100)
    ap.add_argument("--max-loss", type=float, default=1.0)
    ap.add_argument("--media-threads", type=int, default=0,
                    help="tandemd media.threads (0: the node's default)")
    ap.add_argument("--time-limit", type=int, default=900)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r]
    counts = [int(c) for c in args.concurrent.split(",") if c]
    if any(c > 1000 for c in counts):
        sys.exit("--concurrent: at most 1000 calls")

    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGTERM, _on_term)
    signal.alarm(args.time_limit)
    stack = None
    rate_rows, conc_rows, problems = [], [], []
    try:
        load0 = loadavg()
        stack = Stack()
        tools = {"rtpflood": build_tool(stack.root, "rtpflood", "RTPFLOOD"),
                 "callload": build_tool(stack.root, "callload", "CALLLOAD")}
        settings = {"log__level": "warn", "security__rate_limit": 0,
                    "security__ban_failures": 0, "media__port_min": 30000,
                    "media__port_max": 39999}
        if args.media_threads:
            settings["media__threads"] = args.media_threads
        node = stack.node("calls", **settings)
        status, tenant = api(node, "POST", "/v1/tenants", stack.key,
                             {"name": "Calls", "domain": DOMAIN})
        if status != 201:
            raise RuntimeError(f"tenant: {status} {tenant}")
        users = Users(stack, tenant["id"])
        roots = {"tandemd": node.proc.pid, "redis": stack.redis.proc.pid,
                 "postgres": postmaster_pid(stack.pg)}

        def meter():
            return {k: cpu_seconds(pid) for k, pid in roots.items()}

        # The node's own background (timers, keepalives, health) while idle, for scale.
        idle0, t_idle = meter()["tandemd"], time.monotonic()
        time.sleep(5)
        idle_pct = 100 * (meter()["tandemd"] - idle0) / (time.monotonic() - t_idle)
        print(f"tandemd idle: {idle_pct:.1f} % of a CPU", flush=True)
        print(f"call rate: steps of {args.step_seconds:.0f} s, {args.rtp} RTP packets each way, "
              f"BYE after {args.hold_ms} ms", flush=True)
        for rate in rates:
            row = run_rate(tools, node, users, meter, rate, args)
            row["load"] = loadavg()
            rate_rows.append(row)
            print(f"  {rate:.0f}/s: ok {row['ok']} failed {row['failed']} retx "
                  f"{row['retransmits']} p99 {row['setup_p99_ms']:.0f} ms, "
                  f"{row['cpu_ms_per_call']:.2f} ms CPU/call, load {row['load']}", flush=True)
            if row["failed"]:
                break
            time.sleep(2)

        print(f"concurrent calls with RTP: {args.window:.0f} s windows", flush=True)
        for n in counts:
            time.sleep(2)
            try:
                row = relay_through_tandem(tools, node, n, args, users)
                row["media_cpu_pct"] = (row["media_us_per_pkt"] * row["window_received"] / 1e6
                                        / row["window_s"] * 100)
                row["rss_mb"] = rss_kb(node.proc.pid) / 1024
            except RuntimeError as e:
                row = {"calls": n, "error": str(e)}
            row["load"] = loadavg()
            conc_rows.append(row)
            print(f"  {n} calls: " + (row.get("error") or
                  f"loss {row['loss_pct']:.3f} %, tandemd {row['cpu_pct']:.0f} % CPU, "
                  f"load {row['load']}"), flush=True)
            if "error" in row or row["loss_pct"] > args.max_loss or row.get("bye_failed"):
                break

        if not node.alive():
            problems.append("tandemd died during the run:\n" + node.log()[-3000:])
        print(f"\nCalls through tandemd: {os.cpu_count()} CPUs, UDP on 127.0.0.1, "
              f"media.threads={args.media_threads or 'default'}")
        print_rates(rate_rows)
        print("cps: completed calls per second (first INVITE to last BYE answer); p50/p99: first "
              "INVITE to 200, the 407 round included;\nCPU %: tandemd over that span; ms/call: "
              "tandemd CPU per completed call (set-up, RTP relayed, tear-down);\nall ms: + Redis + "
              "PostgreSQL; gen %: callload's own CPU")
        clean = [r for r in rate_rows if not r["failed"] and not r["retransmits"]]
        ok = [r for r in rate_rows if not r["failed"]]
        failed = [r for r in rate_rows if r["failed"]]
        print(f"last clean rate (no failure, no retransmission): "
              f"{clean[-1]['rate']:.0f}/s" if clean else "no clean rate")
        print(f"last rate without a failed call: {ok[-1]['rate']:.0f}/s" if ok else
              "every step had failures")
        print(f"first failed call at: {failed[0]['rate']:.0f}/s (codes {failed[0]['codes']})"
              if failed else f"no failed call up to {rate_rows[-1]['rate']:.0f}/s")
        if failed and failed[0]["stderr"].strip():
            print("callload's notes on the first failed step:\n" + failed[0]["stderr"].strip())
        print()
        print_concurrent(conc_rows)
        print("CPU %: tandemd (all threads) over the window; media %: its media threads; us/pkt: "
              "tandemd CPU per relayed packet;\ngen %: rtpflood's own CPU; late: rtpflood ticks "
              "more than 2 ms late (the generator starved)")
        good = [r for r in conc_rows if "error" not in r and r["loss_pct"] <= args.max_loss and
                not r.get("bye_failed")]
        print(f"most concurrent calls sustained (loss <= {args.max_loss} %, no failure): "
              f"{good[-1]['calls']}" if good else "no step sustained")
        print(f"load average before: {load0}, after: {loadavg()}")
        for r in rate_rows:
            r.pop("stderr", None)
        out = {"idle_cpu_pct": idle_pct, "rates": rate_rows, "concurrent": conc_rows}
        print("rows: " + json.dumps(out))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(out, f, indent=1)
    finally:
        signal.alarm(0)
        if stack:
            codes = stack.close()
            if any(c not in (0, None) for c in codes.values()):
                problems.append(f"tandemd exit codes: {codes}")
    for p in problems:
        print("PROBLEM: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
