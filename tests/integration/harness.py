"""Starts real PostgreSQL, Redis and tandemd processes on loopback under a temporary directory.

Each test module gets its own stack (fixtures in conftest.py); nothing here touches system services."""
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

BUILD = os.environ.get("TANDEM_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
SOURCE = os.environ.get("TANDEM_SOURCE", os.path.join(os.path.dirname(__file__), "../.."))
IS_ROOT = os.geteuid() == 0


def free_port(kind=socket.SOCK_STREAM):
    """A port free for both TCP and UDP on 127.0.0.1 (SIP listens on both)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                    u.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def _pg_bin():
    return sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]


def _as_pg(cmd):
    return ["runuser", "-u", "postgres", "--"] + cmd if IS_ROOT else cmd


class Postgres:
    def __init__(self, root):
        self.dir = os.path.join(root, "pg")
        self.port = free_port()
        self.listen = "127.0.0.1"
        os.makedirs(self.dir)
        if IS_ROOT:
            shutil.chown(self.dir, "postgres")
            os.chmod(root, 0o755)
        os.chmod(self.dir, 0o700)
        subprocess.run(_as_pg([f"{_pg_bin()}/initdb", "-D", self.dir, "-U", "tandem", "-A",
                               "trust"]), check=True, stdout=subprocess.DEVNULL)
        self.start()
        self.psql("CREATE DATABASE tandem", db="postgres")
        self.conninfo = f"host=127.0.0.1 port={self.port} dbname=tandem user=tandem connect_timeout=2"

    def start(self):
        subprocess.run(_as_pg([f"{_pg_bin()}/pg_ctl", "-D", self.dir, "-w", "-l",
                               os.path.join(self.dir, "server.log"), "-o",
                               f"-p {self.port} -k {self.dir} -c listen_addresses={self.listen}",
                               "start"]), check=True, stdout=subprocess.DEVNULL)

    def expose(self, address, cidr):
        """Also listens on address and trusts clients from cidr (cluster/netns.py's bridge)."""
        with open(os.path.join(self.dir, "pg_hba.conf"), "a") as f:
            f.write(f"host all all {cidr} trust\n")
        self.stop()
        self.listen = f"127.0.0.1,{address}"
        self.start()

    def stop(self):
        subprocess.run(_as_pg([f"{_pg_bin()}/pg_ctl", "-D", self.dir, "-m", "immediate", "-w",
                               "stop"]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def psql(self, sql, db="tandem"):
        out = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "tandem",
                              "-d", db, "-v", "ON_ERROR_STOP=1", "-tAc", sql],
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()


class Redis:
    def __init__(self, root, name="redis", args=()):
        """args: more redis-server options, e.g. ("--replicaof", "127.0.0.1", "6379")."""
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir)
        self.port = free_port()
        self.args = list(args)
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind",
                                      "127.0.0.1", "--dir", self.dir, "--save", "",
                                      "--appendonly", "no", *self.args],
                                     stdout=open(os.path.join(self.dir, "redis.log"), "a"),
                                     stderr=subprocess.STDOUT)
        wait_for(lambda: self.cli("PING") == "PONG", what="redis")

    def expose(self, address):
        """Also listens on address (cluster/netns.py's bridge)."""
        self.cli("CONFIG", "SET", "protected-mode", "no")
        if self.cli("CONFIG", "SET", "bind", f"127.0.0.1 {address}") != "OK":
            raise RuntimeError(f"redis cannot listen on {address}")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def kill(self):
        """SIGKILL, as a crashed host would: no goodbye to clients or replicas."""
        if self.proc:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def cli(self, *args):
        r = subprocess.run(["redis-cli", "-p", str(self.port), "--no-raw", *args],
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip().strip('"') if r.returncode == 0 else None

    def raw(self, *args):
        r = subprocess.run(["redis-cli", "-p", str(self.port), "--raw", *args],
                           capture_output=True, text=True, check=True, timeout=10)
        return r.stdout


class Sentinel:
    """One redis-sentinel watching master `name` at 127.0.0.1:master_port, with short timers so
    a test sees a failover in seconds (down after 1 s, quorum 1)."""

    def __init__(self, root, index, master_port, name="tandem", down_after_ms=1000,
                 failover_timeout_ms=3000):
        self.dir = os.path.join(root, f"sentinel{index}")
        os.makedirs(self.dir)
        self.port = free_port()
        self.config = os.path.join(self.dir, "sentinel.conf")  # sentinel rewrites it
        with open(self.config, "w") as f:
            f.write(f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n"
                    f"sentinel monitor {name} 127.0.0.1 {master_port} 1\n"
                    f"sentinel down-after-milliseconds {name} {down_after_ms}\n"
                    f"sentinel failover-timeout {name} {failover_timeout_ms}\n"
                    f"sentinel parallel-syncs {name} 1\n")
        self.proc = subprocess.Popen(["redis-sentinel", self.config],
                                     stdout=open(os.path.join(self.dir, "sentinel.log"), "a"),
                                     stderr=subprocess.STDOUT)
        wait_for(lambda: self.cli("PING") == "PONG", what="redis-sentinel")

    def cli(self, *args):
        r = subprocess.run(["redis-cli", "-p", str(self.port), "--raw", *args],
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip() if r.returncode == 0 else None

    def master_info(self, name="tandem"):
        """SENTINEL master <name> as a dict (num-slaves, num-other-sentinels, ip, port...)."""
        out = (self.cli("SENTINEL", "master", name) or "").split("\n")
        return dict(zip(out[0::2], out[1::2]))

    def master_addr(self, name="tandem"):
        out = (self.cli("SENTINEL", "get-master-addr-by-name", name) or "").split("\n")
        return (out[0], int(out[1])) if len(out) == 2 else None

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


class Node:
    """One tandemd process with its own config file and log."""

    def __init__(self, root, name, redis, pg, **settings):
        self.name = name
        self.sip_port = free_port()
        self.api_port = free_port()
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.log_path = os.path.join(self.dir, "tandemd.log")
        self.config_path = os.path.join(self.dir, "tandem.conf")
        config = {
            "node.id": name,
            "log.level": "info",
            "sip.address": "127.0.0.1",
            "sip.port": self.sip_port,
            "api.address": "127.0.0.1",
            "api.port": self.api_port,
            "redis.host": "127.0.0.1",
            "redis.port": redis.port,
            "redis.timeout_ms": 1000,
            "postgres.conninfo": pg.conninfo,
            "auth.nonce_secret": "integration-test-nonce-secret",
            "cdr.spool_path": os.path.join(self.dir, "cdr.spool"),
        }
        config.update({k.replace("__", "."): v for k, v in settings.items()})
        with open(self.config_path, "w") as f:
            for k, v in config.items():
                f.write(f"{k} = {v}\n")
        self.proc = None
        self.api = f"http://127.0.0.1:{self.api_port}"

    def start(self):
        self.proc = subprocess.Popen([os.path.join(BUILD, "tandemd"), "--config", self.config_path],
                                     stdout=open(self.log_path, "a"), stderr=subprocess.STDOUT)
        wait_for(lambda: self._up(), timeout=15, what=f"{self.name} to serve its API")

    def _up(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
        try:
            with urllib.request.urlopen(self.api + "/v1/health", timeout=1) as r:
                return r.status in (200, 503)
        except urllib.error.HTTPError as e:
            return e.code == 503
        except OSError:
            return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM and wait; returns the exit code (sanitizer reports make it non-zero)."""
        if not self.proc:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        return rc

    def log(self):
        with open(self.log_path) as f:
            return f.read()


def tandemctl(*args, check=True):
    r = subprocess.run([os.path.join(BUILD, "tandemctl"), *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"tandemctl {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r


def migrate(pg):
    return tandemctl("--db", pg.conninfo, "db", "migrate", "--schema", os.path.join(SOURCE, "schema"))


def superadmin_key(pg):
    return tandemctl("--db", pg.conninfo, "db", "apikey", "--superadmin").stdout.strip()


def api(node, method, path, key=None, body=None, raw=None):
    """Returns (status, parsed JSON or None)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(node.api + path, data=data, method=method)
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read()
            return r.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            return e.code, json.loads(text) if text else None
        except ValueError:
            return e.code, {"raw": text.decode(errors="replace")}


def live_call(node, key, tenant, call_id, timeout=3):
    """The confirmed call whose A leg has call_id, as GET .../calls lists it. The node writes a
    dialog's record to Redis after relaying the 200 (off the signalling path), so a phone can
    see the answer a few milliseconds before any node's API does."""
    def confirmed():
        status, calls = api(node, "GET", f"/v1/tenants/{tenant}/calls", key)
        assert status == 200, calls
        mine = [c for c in calls if c["a"]["call_id"] == call_id]
        assert len(mine) <= 1, calls
        return mine[0] if mine and mine[0]["state"] == "confirmed" else None
    return wait_for(confirmed, timeout=timeout, what=f"call {call_id} confirmed in the live list")


class Stack:
    """PostgreSQL + Redis + migrated schema + a superadmin key, in one temporary directory."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="tandem-it-")
        self.pg = Postgres(self.root)
        self.redis = Redis(self.root)
        migrate(self.pg)
        self.key = superadmin_key(self.pg)
        self.nodes = []

    def node(self, name="node1", start=True, **settings):
        n = Node(self.root, name, self.redis, self.pg, **settings)
        self.nodes.append(n)
        if start:
            n.start()
        return n

    def expose(self, address, cidr):
        """Opens PostgreSQL and Redis to address (also) and clients from cidr."""
        self.pg.expose(address, cidr)
        self.redis.expose(address)

    def stop_nodes(self):
        return {n.name: n.stop() for n in self.nodes}

    def close(self):
        codes = self.stop_nodes()
        self.redis.stop()
        self.pg.stop()
        if os.environ.get("TANDEM_KEEP_TMP") is None:
            shutil.rmtree(self.root, ignore_errors=True)
        return codes
