#!/usr/bin/env python3
"""CPU per relayed RTP packet: tandemd's media relay against rtpengine, same machine, same run.

Starts PostgreSQL + Redis + tandemd through tests/integration/harness.py and rtpengine
(Debian's rtpengine-daemon, in the foreground, userspace forwarding only: --table=-1) on its own
port range. For each number of calls N, each relay carries the same N streams from rtpflood
(tests/bench/rtpflood.c): both directions, a 172-byte RTP packet (160 bytes of PCMU) every 20 ms
per stream and direction, paced, from loopback sockets that also count what is relayed back.

- tandemd's calls are real calls: callload (tests/bench/callload.c) --hold N registers callees,
  calls them with digest (407), answers, and holds the calls with SDPs naming rtpflood's ports;
  the relay ports come from the SDPs the node handed out.
- rtpengine's calls are set up over its ng control protocol (bencode over UDP): offer with
  A's SDP, answer with B's, delete at the end.

Over a fixed window (--window s, after --warmup s of traffic) it reads utime + stime from
/proc/<pid>/stat of each relay (all threads; for tandemd also its media threads alone, and the
signalling loop is mostly idle then), and divides by the packets the relay delivered in that
window. Prints a table and the Tandem/rtpengine ratios.

    TANDEM_BUILD=build-bench python3 tests/bench/bench_relay.py [--calls 50,200] [--runs 2]

rtpflood and callload are compiled with cc into the temporary directory unless $RTPFLOOD /
$CALLLOAD name binaries. Every process started here is stopped on the way out, whatever
happens; the whole script is bounded by --time-limit. Exit status 0 when every call was set up
and loss stayed under --max-loss everywhere."""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# The CPU accounting, the time limit and the harness import are bench_register's.
from bench_register import (CLK_TCK, SOURCE, TimeLimit, _on_alarm, _on_term, _stat,  # noqa: E402,F401
                            compile_tool, cpu_seconds, postmaster_pid)
import harness  # noqa: E402
from harness import Stack, api, free_port, wait_for  # noqa: E402

DOMAIN = "relay.tandem.test"
PASSWORD = "bench-password-1"


# -------- tools --------

def parse_line(line):
    """The key=value pairs of a tool's output line (other words are skipped)."""
    return dict(w.split("=", 1) for w in line.split() if "=" in w)


def build_tool(tmp, name, env):
    """$ENV, else $TANDEM_BUILD/tests/bench/<name>, else cc into tmp."""
    for path in (os.environ.get(env), os.path.join(harness.BUILD, "tests/bench", name)):
        if path and os.access(path, os.X_OK):
            return path
    out = os.path.join(tmp, name)
    return out if os.access(out, os.X_OK) else compile_tool(tmp, name)


def thread_cpu_seconds(pid, prefix):
    """CPU of the threads of pid whose name starts with prefix (tandemd names its media-N)."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if not f.read().startswith(prefix):
                    continue
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            continue
    return total / CLK_TCK


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# -------- rtpengine over ng --------

def bencode(x):
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, str):
        x = x.encode()
    if isinstance(x, bytes):
        return b"%d:%s" % (len(x), x)
    if isinstance(x, list):
        return b"l" + b"".join(bencode(i) for i in x) + b"e"
    if isinstance(x, dict):
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in sorted(x.items())) + b"e"
    raise TypeError(type(x))


def bdecode(b, i=0):
    """(value, next index); strings stay bytes."""
    c = b[i:i + 1]
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    if c in (b"l", b"d"):
        i += 1
        out = []
        while b[i:i + 1] != b"e":
            v, i = bdecode(b, i)
            out.append(v)
        return (out if c == b"l" else dict(zip(out[::2], out[1::2]))), i + 1
    j = b.index(b":", i)
    n = int(b[i:j])
    return b[j + 1:j + 1 + n], j + 1 + n


def sdp(port, session):
    return ("v=0\r\n"
            f"o=- {session} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n")


def sdp_port(text):
    for line in text.splitlines():
        if line.startswith("m=audio "):
            return int(line.split()[1])
    raise ValueError("no m=audio in " + text)


class Rtpengine:
    """rtpengine in the foreground, userspace only, on 127.0.0.1; ng control on a local port."""

    def __init__(self, root, threads, port_min=40000, port_max=49999):
        self.dir = os.path.join(root, "rtpengine")
        os.makedirs(self.dir, exist_ok=True)
        self.ng_port = free_port()
        self.log_path = os.path.join(self.dir, "rtpengine.log")
        cmd = ["rtpengine", "--foreground", "--config-file=none", "--table=-1",
               "--interface=127.0.0.1", f"--listen-ng=127.0.0.1:{self.ng_port}",
               f"--port-min={port_min}", f"--port-max={port_max}", "--log-stderr",
               "--log-level=5", "--delete-delay=0",
               "--pidfile=" + os.path.join(self.dir, "rtpengine.pid")]
        if threads:
            cmd.append(f"--num-threads={threads}")
        self.proc = subprocess.Popen(cmd, stdout=open(self.log_path, "w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(2)
        self.seq = 0
        wait_for(self._up, timeout=15, what="rtpengine")

    def _up(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"rtpengine exited with {self.proc.returncode}:\n{self.log()}")
        try:
            return self.ng({"command": "ping"}).get(b"result") == b"pong"
        except OSError:
            return False

    def ng(self, cmd):
        self.seq += 1
        cookie = b"b%d" % self.seq
        self.sock.sendto(cookie + b" " + bencode(cmd), ("127.0.0.1", self.ng_port))
        while True:
            data = self.sock.recv(65535)
            got, _, body = data.partition(b" ")
            if got == cookie:
                return bdecode(body)[0]

    def call(self, i, port_a, port_b):
        """One call: A (port_a) offers, B (port_b) answers. Returns (relay for A, relay for B)."""
        cid = f"relay-{i}@bench"
        r = self.ng({"command": "offer", "call-id": cid, "from-tag": f"a{i}",
                     "sdp": sdp(port_a, i + 1)})
        if r.get(b"result") != b"ok":
            raise RuntimeError(f"rtpengine offer {i}: {r}")
        relay_b = sdp_port(r[b"sdp"].decode())
        r = self.ng({"command": "answer", "call-id": cid, "from-tag": f"a{i}", "to-tag": f"b{i}",
                     "sdp": sdp(port_b, i + 1)})
        if r.get(b"result") != b"ok":
            raise RuntimeError(f"rtpengine answer {i}: {r}")
        return sdp_port(r[b"sdp"].decode()), relay_b

    def delete(self, i):
        self.ng({"command": "delete", "call-id": f"relay-{i}@bench", "from-tag": f"a{i}"})

    def log(self):
        with open(self.log_path) as f:
            return f.read()[-3000:]

    def stop(self):
        if self.proc is None:
            return
        self.sock.close()
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self.proc = None


# -------- rtpflood and callload --------

class Flood:
    """rtpflood: its ports first, then the relay ports in, phases and the result out."""

    def __init__(self, path, streams, window, warmup, sockets=16):
        self.proc = subprocess.Popen(
            [path, "--streams", str(streams), "--sockets", str(min(sockets, streams)),
             "--seconds", str(window), "--warmup", str(warmup),
             "--max-seconds", str(int(window + warmup + 120))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("rtpflood-ports "):
            raise RuntimeError(f"rtpflood: {line!r} {self.proc.stderr.read()}")
        kv = parse_line(line)
        self.ports_a = [int(p) for p in kv["a"].split(",")]
        self.ports_b = [int(p) for p in kv["b"].split(",")]

    def port_a(self, i):
        return self.ports_a[i % len(self.ports_a)]

    def port_b(self, i):
        return self.ports_b[i % len(self.ports_b)]

    def run(self, relays, samplers):
        """Sends the relay ports, samples at the window's edges; returns (result, before, after)."""
        for a, b in relays:
            self.proc.stdin.write(f"{a} {b}\n")
        self.proc.stdin.flush()
        before = after = result = None
        for line in self.proc.stdout:
            if line.startswith("rtpflood-phase measure-start"):
                before = {k: f() for k, f in samplers.items()}
                t_before = time.monotonic()
            elif line.startswith("rtpflood-phase measure-end"):
                after = {k: f() for k, f in samplers.items()}
                t_after = time.monotonic()
            elif line.startswith("rtpflood "):
                result = parse_line(line)
        self.proc.wait(30)
        if result is None or before is None or after is None:
            raise RuntimeError(f"rtpflood gave no result: {self.proc.stderr.read()[-2000:]}")
        result["sampled_seconds"] = t_after - t_before
        return result, before, after

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Users:
    """c<k> and e<k> for k < size in PostgreSQL; take(m) hands each callload run its own m of
    them, so no run calls a callee whose bindings still name an earlier run's closed socket."""

    def __init__(self, stack, tenant_id, size=20000):
        self.size, self.next = size, 0
        for p in ("c", "e"):
            stack.pg.psql(
                "INSERT INTO users (tenant_id, extension, ha1) SELECT "
                f"'{tenant_id}', '{p}' || g, md5('{p}' || g || ':{DOMAIN}:{PASSWORD}') "
                f"FROM generate_series(0, {size - 1}) g")
        stack.pg.psql("ANALYZE users")

    def take(self, m):
        if self.next + m > self.size:
            raise RuntimeError(f"more than {self.size} users needed")
        self.next += m
        return self.next - m


class HeldCalls:
    """callload --hold: N real calls through tandemd, held until release()."""

    def __init__(self, path, node, n, users, sdp_a, sdp_b, rate=100, timeout=120):
        self.proc = subprocess.Popen(
            [path, "--target", f"127.0.0.1:{node.sip_port}", "--domain", DOMAIN,
             "--password", PASSWORD, "--users", str(min(n, 200)),
             "--user-base", str(users.take(min(n, 200))), "--hold", str(n),
             "--rate", str(rate), "--sdp-a", ",".join(map(str, sdp_a)),
             "--sdp-b", ",".join(map(str, sdp_b)), "--max-seconds", str(timeout + 200)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.media, self.established = [], None
        for line in self.proc.stdout:
            if line.startswith("callload-media "):
                _, i, a, b = line.split()
                self.media.append((int(i), int(a), int(b)))
            elif line.startswith("callload-phase established"):
                self.established = parse_line(line)
                break
            elif line.startswith("callload "):
                break
        if self.established is None:
            self.kill()
            raise RuntimeError(f"callload --hold {n}: no calls ({self.proc.stderr.read()[-2000:]})")

    def release(self, timeout=120):
        self.proc.stdin.write("bye\n")
        self.proc.stdin.flush()
        result = None
        for line in self.proc.stdout:
            if line.startswith("callload "):
                result = parse_line(line)
        self.proc.wait(timeout)
        result = result or {}
        result["stderr"] = self.proc.stderr.read()[-2000:]
        return result

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def tandem_samplers(node, flood_pid=None):
    s = {"relay": lambda: cpu_seconds(node.proc.pid),
         "media": lambda: thread_cpu_seconds(node.proc.pid, "media-")}
    if flood_pid:
        s["gen"] = lambda: cpu_seconds(flood_pid)
    return s


def relay_through_tandem(tools, node, n, args, users):
    """Returns a row: N held calls, rtpflood through them, CPU of tandemd over the window."""
    flood = Flood(tools["rtpflood"], n, args.window, args.warmup)
    calls = None
    try:
        t = time.monotonic()
        calls = HeldCalls(tools["callload"], node, n, users, flood.ports_a, flood.ports_b,
                          rate=args.setup_rate)
        setup_s = time.monotonic() - t
        ok = int(calls.established["ok"])
        # rtpflood's stream i uses socket i % K; the calls were numbered the same way, so
        # a failed call would shift the pairing: refuse rather than mislabel traffic.
        if ok != n:
            raise RuntimeError(f"tandemd: only {ok} of {n} calls established "
                               f"({calls.established})")
        relays = [(a, b) for _, a, b in sorted(calls.media)]
        samplers = tandem_samplers(node, flood.proc.pid)
        result, before, after = flood.run(relays, samplers)
        released = calls.release()
    finally:
        flood.kill()
        if calls:
            calls.kill()
    return make_row("tandemd", n, result, before, after, setup_s,
                    extra={"calls_ok": ok, "bye_ok": int(released.get("ok", 0)),
                           "bye_failed": int(released.get("failed", 0))})


def relay_through_rtpengine(tools, rtpe, n, args):
    flood = Flood(tools["rtpflood"], n, args.window, args.warmup)
    made = 0
    try:
        t = time.monotonic()
        relays = []
        for i in range(n):
            relays.append(rtpe.call(i, flood.port_a(i), flood.port_b(i)))
            made += 1
        setup_s = time.monotonic() - t
        samplers = {"relay": lambda: cpu_seconds(rtpe.proc.pid),
                    "gen": lambda: cpu_seconds(flood.proc.pid)}
        result, before, after = flood.run(relays, samplers)
    finally:
        flood.kill()
        for i in range(made):
            try:
                rtpe.delete(i)
            except OSError:
                pass
    return make_row("rtpengine", n, result, before, after, setup_s, extra={"calls_ok": made})


def make_row(relay, n, r, before, after, setup_s, extra=None):
    pkts = int(r["window_received"])
    cpu = {k: after[k] - before[k] for k in before}
    row = {"relay": relay, "calls": n, "setup_s": round(setup_s, 2),
           "window_s": round(r["sampled_seconds"], 2), "window_pps": float(r["window_pps"]),
           "window_received": pkts, "loss_pct": float(r["loss_pct"]),
           "misrouted": int(r["misrouted"]), "dead_streams": int(r["dead_streams"]),
           "late_ticks": int(r["late_ticks"]), "lat_p99_us": float(r["lat_p99_us"]),
           "cpu_s": cpu["relay"], "cpu_pct": 100 * cpu["relay"] / r["sampled_seconds"],
           "us_per_pkt": 1e6 * cpu["relay"] / pkts if pkts else float("nan"),
           "gen_cpu_pct": 100 * cpu.get("gen", 0) / r["sampled_seconds"]}
    if "media" in cpu:
        row["media_us_per_pkt"] = 1e6 * cpu["media"] / pkts if pkts else float("nan")
    row.update(extra or {})
    return row


def print_rows(rows):
    head = (f"{'relay':<11}{'calls':>6}{'pkt/s':>8}{'loss %':>8}{'p99 us':>8}{'CPU %':>7}"
            f"{'us/pkt':>8}{'media':>7}{'gen %':>7}{'late':>6}{'setup s':>8}")
    print(head)
    print("-" * len(head))
    for r in rows:
        media = f"{r['media_us_per_pkt']:.2f}" if "media_us_per_pkt" in r else "-"
        print(f"{r['relay']:<11}{r['calls']:>6}{r['window_pps']:>8.0f}{r['loss_pct']:>8.3f}"
              f"{r['lat_p99_us']:>8.0f}{r['cpu_pct']:>7.1f}{r['us_per_pkt']:>8.2f}{media:>7}"
              f"{r['gen_cpu_pct']:>7.1f}{r['late_ticks']:>6}{r['setup_s']:>8.1f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", default="50,200", help="comma list of concurrent calls")
    ap.add_argument("--runs", type=int, default=1, help="passes over the list (order alternates)")
    ap.add_argument("--window", type=float, default=20, help="measured seconds per run")
    ap.add_argument("--warmup", type=float, default=3, help="seconds of traffic before it")
    ap.add_argument("--setup-rate", type=int, default=100, help="tandemd calls/s while setting up")
    ap.add_argument("--media-threads", type=int, default=0,
                    help="tandemd media.threads (0: the node's default)")
    ap.add_argument("--rtpengine-threads", type=int, default=1,
                    help="rtpengine --num-threads (0: its default, one per CPU)")
    ap.add_argument("--max-loss", type=float, default=1.0, help="loss %% that fails the run")
    ap.add_argument("--time-limit", type=int, default=900, help="limit of the whole script")
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args()
    if not shutil.which("rtpengine"):
        sys.exit("rtpengine not found: apt-get install rtpengine-daemon")
    counts = [int(c) for c in args.calls.split(",") if c]

    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGTERM, _on_term)
    signal.alarm(args.time_limit)
    stack = rtpe = None
    rows, problems = [], []
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
        node = stack.node("relay", **settings)
        status, tenant = api(node, "POST", "/v1/tenants", stack.key,
                             {"name": "Relay", "domain": DOMAIN})
        if status != 201:
            raise RuntimeError(f"tenant: {status} {tenant}")
        users = Users(stack, tenant["id"])
        rtpe = Rtpengine(stack.root, args.rtpengine_threads)
        for run in range(args.runs):
            for n in counts:
                order = ("tandemd", "rtpengine") if (run + counts.index(n)) % 2 == 0 \
                    else ("rtpengine", "tandemd")
                for relay in order:
                    if relay == "tandemd":
                        row = relay_through_tandem(tools, node, n, args, users)
                    else:
                        row = relay_through_rtpengine(tools, rtpe, n, args)
                    row["run"] = run + 1
                    row["load"] = loadavg()
                    rows.append(row)
                    print(f"run {run + 1} {relay} {n} calls: {row['us_per_pkt']:.2f} us/pkt, "
                          f"loss {row['loss_pct']:.3f} %, load {row['load']}", flush=True)
                    time.sleep(1)
        if not node.alive():
            problems.append("tandemd died during the run:\n" + node.log()[-3000:])
        if rtpe.proc.poll() is not None:
            problems.append("rtpengine died during the run:\n" + rtpe.log())

        print(f"\nRTP relay benchmark: {os.cpu_count()} CPUs, window {args.window:.0f} s, "
              f"172-byte packets, 50/s per stream and direction, 127.0.0.1; rtpengine "
              f"--num-threads={args.rtpengine_threads or 'default'} --table=-1, tandemd "
              f"media.threads={args.media_threads or 'default'}")
        print_rows(rows)
        print("us/pkt: relay process CPU (utime+stime, all threads) per packet it delivered in "
              "the window; media: tandemd's media threads alone; gen %: rtpflood's own CPU")
        for run in range(1, args.runs + 1):
            for n in counts:
                t = [r for r in rows if r["run"] == run and r["calls"] == n and
                     r["relay"] == "tandemd"]
                e = [r for r in rows if r["run"] == run and r["calls"] == n and
                     r["relay"] == "rtpengine"]
                if t and e:
                    print(f"run {run}, {n} calls: Tandem/rtpengine CPU per packet "
                          f"x{t[0]['us_per_pkt'] / e[0]['us_per_pkt']:.2f} (<1 cheaper); media "
                          f"threads only x{t[0]['media_us_per_pkt'] / e[0]['us_per_pkt']:.2f}; "
                          f"loss {t[0]['loss_pct']:.3f} % vs {e[0]['loss_pct']:.3f} %")
        print(f"load average before: {load0}, after: {loadavg()}")
        print("rows: " + json.dumps(rows))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=1)
        for r in rows:
            if r["loss_pct"] > args.max_loss or r["misrouted"] or r["dead_streams"]:
                problems.append(f"{r['relay']} {r['calls']} calls: loss {r['loss_pct']} %, "
                                f"misrouted {r['misrouted']}, dead streams {r['dead_streams']}")
            if r.get("bye_failed"):
                problems.append(f"{r['relay']} {r['calls']} calls: {r['bye_failed']} BYEs failed")
    finally:
        signal.alarm(0)
        if rtpe:
            rtpe.stop()
        if stack:
            codes = stack.close()
            if any(c not in (0, None) for c in codes.values()):
                problems.append(f"tandemd exit codes: {codes}")
    for p in problems:
        print("PROBLEM: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
