#!/usr/bin/env python3
"""REGISTER throughput and CPU cost: tandemd against Kamailio, same machine, same run.

Starts PostgreSQL + Redis + tandemd through tests/integration/harness.py, creates one tenant
with N users (bulk INSERT), then Kamailio (tests/bench/kamailio-registrar.cfg) on another port
authenticating the same users from the same PostgreSQL through a `subscriber` view. regload
(tests/bench/regload.c) drives each server with the same scenario: a fresh round
(REGISTER -> 401 -> REGISTER with digest -> 200) then a refresh round (the nonce reused with
nc=2), W transactions in flight. For each server it records registrations per second per round
and CPU seconds (utime + stime from /proc) of the server's processes, of Redis and of
PostgreSQL, per 1000 registrations. Prints a table and the Tandem/Kamailio ratios.

    TANDEM_BUILD=build-bench python3 tests/bench/bench_register.py [--users 10000] [--window 200]

regload is taken from $REGLOAD, else $TANDEM_BUILD/tests/bench/regload, else compiled from
tests/bench/regload.c and benchutil.c with cc into the temporary directory. Every process
started here is stopped on the way out, whatever happens; the whole script is bounded by
--time-limit.
Exit status: 0 when every registration succeeded everywhere and Redis holds every binding."""
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
SOURCE = os.path.abspath(os.path.join(HERE, "../.."))
os.environ.setdefault("TANDEM_BUILD", os.path.join(SOURCE, "build-bench"))
sys.path.insert(0, os.path.join(SOURCE, "tests/integration"))
import harness  # noqa: E402  (needs TANDEM_BUILD set first)
from harness import Stack, api, free_port, wait_for  # noqa: E402

DOMAIN = "bench.tandem.test"
PASSWORD = "bench-password-1"
PREFIX = "b"
WARM_PREFIX = "w"  # a second set of users for the warm-up pass (their HA1 is not cached)
# sofia keeps a completed UDP non-INVITE server transaction (request and response) for
# Timer J = 64*T1 = 32 s; the warm run starts after they are all gone.
TIMER_J = 32
CLK_TCK = os.sysconf("SC_CLK_TCK")


class TimeLimit(Exception):
    pass


def _on_alarm(signum, frame):
    raise TimeLimit("benchmark time limit reached")


def _on_term(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# -------- CPU accounting from /proc --------

def _stat(pid):
    """(ppid, utime + stime, cutime + cstime) in ticks, or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # fields[0] is the state (field 3); utime is field 14, so index 11
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def _tree(root):
    """root and all its descendants alive now."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st:
                children.setdefault(st[0], []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_seconds(root):
    """CPU of a process tree: every live member's own time plus what the root has reaped."""
    total = 0
    for pid in _tree(root):
        st = _stat(pid)
        if st:
            total += st[1] + (st[2] if pid == root else 0)
    return total / CLK_TCK


def rss_kb(pid):
    """Resident set in kB (shared pages count in every process that maps them)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def postmaster_pid(pg):
    with open(os.path.join(pg.dir, "postmaster.pid")) as f:
        return int(f.readline())


class Meter:
    """CPU seconds of named process trees, sampled at round boundaries."""

    def __init__(self, roots):
        self.roots = roots

    def sample(self):
        return {name: cpu_seconds(pid) for name, pid in self.roots.items()}


# -------- Kamailio --------

def prepare_kamailio_db(pg):
    """auth_db reads `subscriber` (and checks its version in `version`): a view over Tandem's
    own tables, columns left as text so the (tenant_id, extension) index is used."""
    pg.psql("CREATE TABLE IF NOT EXISTS version (table_name varchar(32) NOT NULL UNIQUE, "
            "table_version integer NOT NULL DEFAULT 0);"
            "INSERT INTO version VALUES ('subscriber', 7) ON CONFLICT DO NOTHING;"
            "CREATE OR REPLACE VIEW subscriber AS SELECT 0 AS id, u.extension AS username, "
            "t.domain AS domain, ''::text AS password, u.ha1 AS ha1, ''::text AS ha1b "
            "FROM users u JOIN tenants t ON t.id = u.tenant_id")


def sip_answers(port, timeout=0.3):
    """True when something answers an OPTIONS on 127.0.0.1:port."""
    msg = (f"OPTIONS sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{{p}};branch=z9hG4bKprobe"
           f"{time.monotonic_ns()}\r\nMax-Forwards: 70\r\nFrom: <sip:probe@{DOMAIN}>;tag=1\r\n"
           f"To: <sip:probe@{DOMAIN}>\r\nCall-ID: probe-{time.monotonic_ns()}\r\n"
           "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(timeout)
        s.sendto(msg.replace("{p}", str(s.getsockname()[1])).encode(), ("127.0.0.1", port))
        try:
            return s.recv(4096).startswith(b"SIP/2.0 ")
        except OSError:
            return False


class Kamailio:
    def __init__(self, root, pg, children):
        self.children = children
        self.port = free_port()
        self.dir = os.path.join(root, f"kamailio-{children}")
        os.makedirs(self.dir)
        self.log_path = os.path.join(self.dir, "kamailio.log")
        self.proc = subprocess.Popen(
            ["kamailio", "-f", os.path.join(HERE, "kamailio-registrar.cfg"), "-DD", "-E",
             "-Y", self.dir, "-P", os.path.join(self.dir, "kamailio.pid"),
             "-l", f"udp:127.0.0.1:{self.port}", "-m", "256", "-M", "16",
             "-A", f'BENCH_DBURL="postgres://tandem@127.0.0.1:{pg.port}/tandem"',
             "-A", f"BENCH_CHILDREN={children}"],
            stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._up, timeout=15, what=f"kamailio children={children}")

    def _up(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"kamailio exited with {self.proc.returncode}:\n{self.log()}")
        return sip_answers(self.port)

    def log(self):
        with open(self.log_path) as f:
            return f.read()[-3000:]

    def stop(self):
        if self.proc is None:
            return
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


# -------- regload --------

def compile_tool(tmp, name):
    """cc tests/bench/<name>.c into tmp, with what the tools share (benchutil.c: its MD5 wants
    libcrypto)."""
    out = os.path.join(tmp, name)
    subprocess.run([os.environ.get("CC", "cc"), "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror",
                    os.path.join(HERE, name + ".c"), os.path.join(HERE, "benchutil.c"), "-o", out,
                    "-lcrypto"], check=True)
    return out


def find_regload(tmp):
    for path in (os.environ.get("REGLOAD"),
                 os.path.join(harness.BUILD, "tests/bench/regload"),
                 os.path.join(harness.BUILD, "regload")):
        if path and os.access(path, os.X_OK):
            return path
    return compile_tool(tmp, "regload")


def parse_line(line):
    return dict(kv.split("=", 1) for kv in line.split()[1:])


def run_regload(regload, port, args, meter, timeout, prefix=PREFIX):
    """Runs both rounds, sampling CPU before, between and after; returns the result dict."""
    cmd = [regload, "--target", f"127.0.0.1:{port}", "--domain", DOMAIN, "--prefix", prefix,
           "--password", PASSWORD, "--users", str(args.users), "--window", str(args.window),
           "--expires", "600", "--refresh", "--sync", "--max-seconds", str(args.max_seconds),
           "--verbose"]
    before = meter.sample()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        between = None
        result = None
        for line in p.stdout:
            if line.startswith("regload-phase fresh-done"):
                between = meter.sample()
                p.stdin.write("go\n")
                p.stdin.flush()
            elif line.startswith("regload "):
                result = parse_line(line)
        p.wait(timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    after = meter.sample()
    err = p.stderr.read()
    if result is None:
        raise RuntimeError(f"regload gave no result (exit {p.returncode}): {err[-2000:]}")
    between = between or after
    result["cpu_fresh"] = {k: between[k] - before[k] for k in before}
    result["cpu_refresh"] = {k: after[k] - between[k] for k in before}
    result["stderr"] = err[-2000:]
    return result


# -------- the run --------

def per_1000(cpu, ok):
    return 1000 * cpu / ok if ok else float("nan")


def summarize(name, r, server_keys):
    row = {"server": name}
    for rnd in ("fresh", "refresh"):
        ok = int(r[f"{rnd}_ok"])
        cpu = r[f"cpu_{rnd}"]
        server = sum(cpu[k] for k in server_keys)
        row[f"{rnd}_rps"] = float(r[f"{rnd}_rps"])
        row[f"{rnd}_ok"] = ok
        row[f"{rnd}_failed"] = int(r[f"{rnd}_failed"])
        row[f"{rnd}_p99_ms"] = float(r[f"{rnd}_p99_ms"])
        row[f"{rnd}_cpu_ms_per_1000"] = per_1000(server * 1000, ok)
        row[f"{rnd}_all_cpu_ms_per_1000"] = per_1000(sum(cpu.values()) * 1000, ok)
        row[f"{rnd}_redis_pg_ms_per_1000"] = per_1000((cpu["redis"] + cpu["postgres"]) * 1000, ok)
    row["retransmits"] = int(r["retransmits"])
    row["codes"] = r["codes"]
    row["refresh_reused"] = int(r.get("refresh_reused", 0))
    return row


def print_table(rows, users, window):
    print(f"\nREGISTER benchmark: {users} users, window {window}, UDP on 127.0.0.1, "
          f"{os.cpu_count()} CPUs")
    head = (f"{'server':<22}{'fresh/s':>8}{'refresh/s':>10}{'fail':>5}{'retx':>6}"
            f"{'p99 f/r ms':>12}{'cpu/1k f/r':>12}{'all/1k f/r':>12}{'rss+MB':>8}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['server']:<22}{r['fresh_rps']:>8.0f}{r['refresh_rps']:>10.0f}"
              f"{r['fresh_failed'] + r['refresh_failed']:>5}{r['retransmits']:>6}"
              f"{r['fresh_p99_ms']:>6.0f}/{r['refresh_p99_ms']:<5.0f}"
              f"{r['fresh_cpu_ms_per_1000']:>6.0f}/{r['refresh_cpu_ms_per_1000']:<5.0f}"
              f"{r['fresh_all_cpu_ms_per_1000']:>6.0f}/{r['refresh_all_cpu_ms_per_1000']:<5.0f}"
              f"{r.get('rss_growth_mb', 0):>8.0f}")
    print("cpu/1k: CPU ms of the registrar's own processes per 1000 successful registrations; "
          "all/1k: the same plus\nRedis and PostgreSQL; rss+MB: resident memory growth of the "
          "registrar during the run")
    for t in (r for r in rows if r["server"].startswith("tandemd")):
        for k in (r for r in rows if r["server"].startswith("kamailio")):
            print(f"{t['server']} / {k['server']}: throughput fresh x"
                  f"{t['fresh_rps'] / k['fresh_rps']:.2f} refresh x"
                  f"{t['refresh_rps'] / k['refresh_rps']:.2f} (>1 faster); CPU/registration own x"
                  f"{t['fresh_cpu_ms_per_1000'] / k['fresh_cpu_ms_per_1000']:.2f}/"
                  f"{t['refresh_cpu_ms_per_1000'] / k['refresh_cpu_ms_per_1000']:.2f}, all x"
                  f"{t['fresh_all_cpu_ms_per_1000'] / k['fresh_all_cpu_ms_per_1000']:.2f}/"
                  f"{t['refresh_all_cpu_ms_per_1000'] / k['refresh_all_cpu_ms_per_1000']:.2f}"
                  " (<1 cheaper)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--window", type=int, default=200)
    ap.add_argument("--kamailio-children", default="1,8",
                    help="comma list; one Kamailio run per value (default 1,8)")
    ap.add_argument("--tandem-log-level", default="warn",
                    help="tandemd log.level (info writes a line per REGISTER; default warn, "
                         "as Kamailio here logs nothing per REGISTER)")
    ap.add_argument("--max-seconds", type=int, default=120, help="limit of each regload run")
    ap.add_argument("--time-limit", type=int, default=540, help="limit of the whole script")
    ap.add_argument("--no-warm", dest="warm", action="store_false",
                    help="measure tandemd once, cold, instead of cold and then warm (the warm "
                         "pass waits 35 s so the cold pass's transactions are gone)")
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args()
    if not shutil.which("kamailio"):
        sys.exit("kamailio not found: apt-get install kamailio kamailio-postgres-modules")

    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGTERM, _on_term)
    signal.alarm(args.time_limit)
    stack = None
    kams = []
    rows, problems = [], []
    try:
        load0 = open("/proc/loadavg").read().strip()
        stack = Stack()
        regload = find_regload(stack.root)
        node = stack.node("bench", **{"log__level": args.tandem_log_level,
                                      # regload is one source address: no per-source limits
                                      "security__rate_limit": 0,
                                      "security__ban_failures": 0})
        status, tenant = api(node, "POST", "/v1/tenants", stack.key,
                             {"name": "Bench", "domain": DOMAIN})
        if status != 201:
            raise RuntimeError(f"tenant: {status} {tenant}")
        for prefix in (PREFIX, WARM_PREFIX):
            stack.pg.psql(
                "INSERT INTO users (tenant_id, extension, ha1) SELECT "
                f"'{tenant['id']}', '{prefix}' || g, md5('{prefix}' || g || ':{DOMAIN}:{PASSWORD}') "
                f"FROM generate_series(0, {args.users - 1}) g")
        stack.pg.psql("ANALYZE users; ANALYZE tenants")
        prepare_kamailio_db(stack.pg)
        common = {"redis": stack.redis.proc.pid, "postgres": postmaster_pid(stack.pg)}

        meter = Meter({"tandemd": node.proc.pid, **common})
        passes = [("tandemd (cold)", WARM_PREFIX), ("tandemd (warm)", PREFIX)] if args.warm \
            else [("tandemd", PREFIX)]
        for i, (name, prefix) in enumerate(passes):
            if i:
                time.sleep(TIMER_J + 3)
            rss0 = rss_kb(node.proc.pid)
            r = run_regload(regload, node.sip_port, args, meter, args.max_seconds + 30, prefix)
            rows.append(summarize(name, r, ["tandemd"]))
            rows[-1]["rss_growth_mb"] = (rss_kb(node.proc.pid) - rss0) / 1024
            if r["stderr"].strip():
                problems.append(f"{name} run, regload stderr:\n" + r["stderr"])
        zcard = int(stack.redis.cli("ZCARD", f"tandem:regidx:{DOMAIN}").split()[-1])
        rows[-1]["redis_bindings"] = zcard
        if zcard != args.users * len(passes):
            problems.append(f"Redis holds {zcard} bindings, expected {args.users * len(passes)}")
        if not node.alive():
            problems.append("tandemd died during the run:\n" + node.log()[-3000:])

        for children in [int(c) for c in args.kamailio_children.split(",") if c]:
            k = Kamailio(stack.root, stack.pg, children)
            kams.append(k)
            meter = Meter({"kamailio": k.proc.pid, **common})
            rss0 = sum(rss_kb(p) for p in _tree(k.proc.pid))
            r = run_regload(regload, k.port, args, meter, args.max_seconds + 30)
            rows.append(summarize(f"kamailio children={children}", r, ["kamailio"]))
            rows[-1]["rss_growth_mb"] = (sum(rss_kb(p) for p in _tree(k.proc.pid)) - rss0) / 1024
            if r["stderr"].strip():
                problems.append(f"kamailio {children} run, regload stderr:\n" + r["stderr"])
            k.stop()

        print_table(rows, args.users, args.window)
        print(f"load average before: {load0}, after: {open('/proc/loadavg').read().strip()}")
        print("rows: " + json.dumps(rows))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=1)
        for r in rows:
            if r["fresh_failed"] or r["refresh_failed"]:
                problems.append(f"{r['server']}: {r['fresh_failed']} fresh and "
                                f"{r['refresh_failed']} refresh registrations failed "
                                f"(codes {r['codes']})")
    finally:
        signal.alarm(0)
        for k in kams:
            k.stop()
        if stack:
            codes = stack.close()
            if any(c not in (0, None) for c in codes.values()):
                problems.append(f"tandemd exit codes: {codes}")
    for p in problems:
        print("PROBLEM: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
