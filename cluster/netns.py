"""A multi-node Tandem cluster on one host: a bridge, one network namespace per node with its
own corosync and tandemd, and a namespace for test callers. Used by ./dev up --nodes N and tests/cluster.

Addresses in SUBNET.0/24 (default 10.77.0): the bridge .1 (PostgreSQL and Redis listen there),
node i has its fixed address .(10+i) (corosync) and its service address .(100+i) (SIP, media and
API; the VIP another node takes over), the peers namespace .200-.209. Every name carries a
per-run id (tdm<id>-n1, tdm<id>-peers, bridge tdm<id>br) so two runs cannot clash, and close()
or teardown(run_id) removes everything made, even after a failure. Needs root, iproute2, nft
and corosync; installs nothing.

Each corosync runs under `unshare -m` with a tmpfs on /var/run and a private /var/lib/corosync
bound in (DESIGN section 4), its configuration and log under the run's directory."""
import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SOURCE = os.environ.get("TANDEM_SOURCE", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
BUILD = os.environ.get("TANDEM_BUILD", os.path.join(SOURCE, "build"))
CLONE_NEWNET = 0x40000000


def sh(*cmd, check=True, **kw):
    """Runs a command (argv), returns CompletedProcess with text output."""
    r = subprocess.run(list(cmd), capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def pick_subnet():
    """A /24 under 10.0.0.0/8 derived from the pid and unused on this host, e.g. '10.141.37'."""
    used = sh("ip", "-4", "-o", "addr", "show").stdout + sh("ip", "-4", "route").stdout
    pid = os.getpid()
    for k in range(256):
        second = 100 + ((pid >> 8) + k) % 150
        subnet = f"10.{second}.{pid & 255}"
        if f"{subnet}." not in used:
            return subnet
    raise RuntimeError("no free 10.x.y.0/24 subnet")


def run_id_default():
    return f"{os.getpid() & 0xffff:04x}"


def teardown(run_id):
    """Removes whatever a run with this id left: processes in its namespaces, the namespaces and
    the bridge. Safe to call when nothing is left."""
    prefix = f"tdm{run_id}-"
    names = [line.split()[0] for line in sh("ip", "netns", "list").stdout.splitlines() if line]
    for ns in names:
        if not ns.startswith(prefix):
            continue
        for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
    for ns in names:
        if ns.startswith(prefix):
            # A process just killed may hold the namespace a moment longer; deletion still works.
            sh("ip", "netns", "del", ns, check=False)
    sh("ip", "link", "del", f"tdm{run_id}br", check=False)
    # A namespace something still references (a socket a test made inside it) outlives its
    # deletion, and with it the host end of its veth: remove those by name.
    for line in sh("ip", "-o", "link", "show").stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        if name.startswith(f"tdm{run_id}v"):
            sh("ip", "link", "del", name, check=False)


class Network:
    """The bridge and the namespaces. Node numbers start at 1."""

    def __init__(self, nodes=3, subnet="10.77.0", run_id=None):
        self.n = nodes
        self.subnet = subnet
        self.run_id = run_id or run_id_default()
        self.bridge = f"tdm{self.run_id}br"
        self.bridge_ip = f"{subnet}.1"
        self.peers_ns = f"tdm{self.run_id}-peers"
        self.peer_ips = [f"{subnet}.{200 + k}" for k in range(10)]
        self.made = False

    def ns(self, i):
        return f"tdm{self.run_id}-n{i}"

    def fixed_ip(self, i):
        return f"{self.subnet}.{10 + i}"

    def service_ip(self, i):
        return f"{self.subnet}.{100 + i}"

    def up(self):
        self.made = True
        teardown(self.run_id)  # a crashed earlier run with the same id
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{self.bridge_ip}/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for i in range(1, self.n + 1):
            self._namespace(self.ns(i), f"tdm{self.run_id}v{i}",
                            [self.fixed_ip(i), self.service_ip(i)])
        self._namespace(self.peers_ns, f"tdm{self.run_id}vp", self.peer_ips)
        return self

    def _namespace(self, ns, veth, addresses):
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "link", "set", veth, "master", self.bridge, "up")
        self.run(ns, "ip", "link", "set", "lo", "up")
        for a in addresses:  # the first is primary, the rest secondary (the service address)
            self.run(ns, "ip", "addr", "add", f"{a}/24", "dev", "eth0")
        self.run(ns, "ip", "link", "set", "eth0", "up")

    def down(self):
        if self.made:
            teardown(self.run_id)
            self.made = False

    def run(self, ns, *cmd, check=True, timeout=60):
        """Runs argv inside namespace ns; returns CompletedProcess (text)."""
        return sh("ip", "netns", "exec", ns, *cmd, check=check, timeout=timeout)

    @contextlib.contextmanager
    def inside(self, ns):
        """Sockets created in this block belong to namespace ns (only this thread switches)."""
        libc = ctypes.CDLL(None, use_errno=True)
        with open("/proc/thread-self/ns/net") as home, open(f"/run/netns/{ns}") as target:
            if libc.setns(target.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns {ns}")
            try:
                yield
            finally:
                if libc.setns(home.fileno(), CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back")

    def cut(self, i):
        """Partitions node i from the other nodes (their fixed and service addresses, both
        ways), as a broken cluster link would; the stores and the peers still reach it."""
        others = [a for j in range(1, self.n + 1) if j != i
                  for a in (self.fixed_ip(j), self.service_ip(j))]
        rules = (f"table inet tdmcut {{\n set others {{ type ipv4_addr; elements = {{ {', '.join(others)} }} }}\n"
                 " chain in { type filter hook input priority -10; ip saddr @others drop; }\n"
                 " chain out { type filter hook output priority -10; ip daddr @others drop; }\n}\n")
        sh("ip", "netns", "exec", self.ns(i), "nft", "-f", "-", input=rules)

    def heal(self, i):
        self.run(self.ns(i), "nft", "delete", "table", "inet", "tdmcut", check=False)

    def link(self, i, up):
        """Takes node i's cable out (up=False) or puts it back: nothing in or out, VIP included."""
        self.run(self.ns(i), "ip", "link", "set", "eth0", "up" if up else "down")


COROSYNC_CONF = """# Written by cluster/netns.py for node {i} of run {run_id}.
totem {{
    version: 2
    cluster_name: tdm{run_id}
    transport: knet
    token: {token}
    # corosync adds token_coefficient (650 ms) per node beyond two to the token: zero keeps the
    # token what it says, so a dead member is seen after token + consensus.
    token_coefficient: 0
    consensus: {consensus}
    join: 50
    crypto_cipher: none
    crypto_hash: none
}}
nodelist {{
{nodes}
}}
quorum {{
    provider: corosync_votequorum
}}
logging {{
    to_logfile: yes
    logfile: {dir}/corosync.log
    to_stderr: no
    to_syslog: no
    timestamp: hires
}}
"""


class Node:
    """One cluster node: its namespace, addresses, corosync and tandemd."""

    def __init__(self, cluster, i):
        net = cluster.net
        self.i = i
        self.name = f"n{i}"
        self.ns = net.ns(i)
        self.fixed_ip = net.fixed_ip(i)
        self.ip = net.service_ip(i)
        self.sip_port = 5060
        self.api_port = 8080
        self.api = f"http://{self.ip}:{self.api_port}"
        self.dir = os.path.join(cluster.dir, self.name)
        self.log_path = os.path.join(self.dir, "tandemd.log")
        self.config_path = os.path.join(self.dir, "tandem.conf")
        self.corosync_conf = os.path.join(self.dir, "corosync.conf")
        self.proc = None
        self.corosync = None

    @property
    def pid(self):
        return self.proc.pid if self.proc and self.proc.poll() is None else None

    def alive(self):
        return self.pid is not None

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def corosync_log(self):
        path = os.path.join(self.dir, "corosync.log")
        return open(path, errors="replace").read() if os.path.exists(path) else ""


class Cluster:
    """N nodes on a Network, sharing PostgreSQL and Redis on the bridge address.

    Stores: pass stack= (tests/integration/harness.Stack; its PostgreSQL and Redis are opened
    to the bridge), or postgres= (conninfo reachable from the namespaces) and redis=(host, port);
    with neither a Stack is made and closed here."""

    def __init__(self, nodes=3, subnet=None, run_id=None, build=None, token_ms=400, stack=None,
                 postgres=None, redis=None, settings=None, workdir=None, nonce_secret=None,
                 key=None):
        self.net = Network(nodes, subnet or pick_subnet(), run_id)
        self.build = build or BUILD
        self.token_ms = token_ms
        self.stack = stack
        self.own_stack = False
        self.postgres, self.redis = postgres, redis
        self.settings = settings or {}
        self.nonce_secret = nonce_secret or "cluster-test-nonce-secret"
        self.key = key  # superadmin API key; default: the Stack's
        self.dir = workdir or tempfile.mkdtemp(prefix=f"tandem-cluster-{self.net.run_id}-")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.nodes = [Node(self, i) for i in range(1, nodes + 1)]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def node(self, i):
        return self.nodes[i - 1]

    # ---- building ----

    def start(self, make_network=True):
        """Builds everything (the network too unless make_network is False: ./dev makes it
        first, so its stores can listen on the bridge before the nodes start)."""
        try:
            if make_network:
                self.net.up()
            else:
                self.net.made = True
            self._stores()
            for n in self.nodes:
                self.start_corosync(n.i)
            for n in self.nodes:
                self.start_node(n.i)
            self.wait_members(len(self.nodes))
        except BaseException:
            self.close()
            raise
        return self

    def _stores(self):
        if self.postgres and self.redis:
            return
        sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
        import harness  # noqa: E402 (the integration suite's stores)
        if self.stack is None:
            self.stack = harness.Stack()
            self.own_stack = True
        self.stack.expose(self.net.bridge_ip, f"{self.net.subnet}.0/24")
        self.postgres = (f"host={self.net.bridge_ip} port={self.stack.pg.port} dbname=tandem "
                         "user=tandem connect_timeout=2")
        self.redis = (self.net.bridge_ip, self.stack.redis.port)

    def _write_corosync_conf(self, n):
        nodes = "\n".join(f"    node {{\n        ring0_addr: {self.net.fixed_ip(j)}\n"
                          f"        name: n{j}\n        nodeid: {j}\n    }}"
                          for j in range(1, len(self.nodes) + 1))
        os.makedirs(os.path.join(n.dir, "lib"), exist_ok=True)
        with open(n.corosync_conf, "w") as f:
            f.write(COROSYNC_CONF.format(i=n.i, run_id=self.net.run_id, token=self.token_ms,
                                         consensus=int(self.token_ms * 1.2), nodes=nodes,
                                         dir=n.dir))

    def start_corosync(self, i):
        n = self.node(i)
        os.makedirs(n.dir, exist_ok=True)
        self._write_corosync_conf(n)
        script = (f"mount -t tmpfs tmpfs /var/run && mount --bind {n.dir}/lib /var/lib/corosync "
                  f"&& exec corosync -f -c {n.corosync_conf}")
        out = open(os.path.join(n.dir, "corosync.out"), "a")
        n.corosync = subprocess.Popen(["ip", "netns", "exec", n.ns, "unshare", "-m",
                                       "--propagation", "private", "sh", "-c", script],
                                      stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        out.close()
        wait_for(lambda: self._corosync_up(n), timeout=15, what=f"corosync on {n.name}")

    def _corosync_up(self, n):
        if n.corosync.poll() is not None:
            raise RuntimeError(f"corosync on {n.name} exited with {n.corosync.returncode}:\n"
                               f"{n.corosync_log()[-3000:]}")
        return self.net.run(n.ns, "corosync-cfgtool", "-s", check=False).returncode == 0

    def _write_config(self, n):
        config = {
            "node.id": n.name,
            "log.level": "info",
            "sip.address": n.ip,
            "sip.port": n.sip_port,
            "media.address": n.ip,
            "media.port_min": 30000,
            "media.port_max": 30999,
            "api.address": n.ip,
            "api.port": n.api_port,
            "redis.host": self.redis[0],
            "redis.port": self.redis[1],
            "redis.timeout_ms": 1000,
            "postgres.conninfo": self.postgres,
            "auth.nonce_secret": self.nonce_secret,
            "cdr.spool_path": os.path.join(n.dir, "cdr.spool"),
            "cluster.membership": "corosync",
        }
        config.update({k.replace("__", "."): v for k, v in self.settings.items()})
        with open(n.config_path, "w") as f:
            f.write(f"# Written by cluster/netns.py for {n.name} in namespace {n.ns}.\n")
            for k, v in config.items():
                f.write(f"{k} = {v}\n")

    def start_node(self, i, wait=True):
        """Starts tandemd in node i's namespace (its corosync must run); waits for its API."""
        n = self.node(i)
        self._write_config(n)
        log = open(n.log_path, "a")
        n.proc = subprocess.Popen(["ip", "netns", "exec", n.ns,
                                   os.path.join(self.build, "tandemd"), "--config", n.config_path],
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                  env={**os.environ,
                                       "LSAN_OPTIONS": os.environ.get(
                                           "LSAN_OPTIONS",
                                           f"suppressions={SOURCE}/tests/lsan.supp")})
        log.close()
        if wait:
            wait_for(lambda: self._api_up(n), timeout=20, what=f"tandemd on {n.name}")
        return n

    def _api_up(self, n):
        if n.proc.poll() is not None:
            raise RuntimeError(f"tandemd {n.name} exited with {n.proc.returncode}:\n"
                               f"{n.log()[-4000:]}")
        try:
            with urllib.request.urlopen(n.api + "/v1/health", timeout=1) as r:
                return r.status in (200, 503)
        except urllib.error.HTTPError as e:
            return e.code == 503
        except OSError:
            return False

    # ---- faults ----

    def kill(self, i, what="all"):
        """kill -9 node i's tandemd, corosync or both ("all", like a machine losing power but
        with its addresses still configured; see power_off). Returns the time it was done."""
        n = self.node(i)
        t = time.monotonic()
        for p in ([n.proc] if what in ("all", "tandemd") else []) + \
                 ([n.corosync] if what in ("all", "corosync") else []):
            if p and p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()
        return t

    def power_off(self, i):
        """kill -9 everything on node i and take its link down (its addresses stop answering, so
        a VIP can move). Returns the time it was done."""
        t = self.kill(i)
        self.net.link(i, False)
        return t

    def power_on(self, i):
        """Link up, corosync and tandemd started again (after power_off or kill)."""
        self.net.link(i, True)
        n = self.node(i)
        if not (n.corosync and n.corosync.poll() is None):
            self.start_corosync(i)
        if not n.alive():
            self.start_node(i)

    def cut(self, i):
        self.net.cut(i)

    def heal(self, i):
        self.net.heal(i)

    def stop_node(self, i):
        """SIGTERM tandemd and wait; returns its exit code (sanitizer reports make it non-zero)."""
        n = self.node(i)
        if not n.proc:
            return None
        if n.proc.poll() is None:
            n.proc.send_signal(signal.SIGTERM)
            try:
                n.proc.wait(20)
            except subprocess.TimeoutExpired:
                n.proc.kill()
                n.proc.wait()
        return n.proc.returncode

    # ---- looking ----

    def api(self, i, method, path, key=None, body=None, timeout=5):
        """(status, JSON or None) of one request to node i's API, from the root namespace."""
        key = key or self.key or (self.stack.key if self.stack else None)
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.node(i).api + path, data=data, method=method)
        if key:
            req.add_header("Authorization", f"Bearer {key}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                text = r.read()
                return r.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                return e.code, (json.loads(text) if text else None)
            except ValueError:
                return e.code, None

    def view(self, i, key=None):
        """Node i's GET /v1/cluster, or None when it does not answer."""
        try:
            status, body = self.api(i, "GET", "/v1/cluster", key=key, timeout=2)
        except OSError:
            return None
        return body if status == 200 else None

    def members(self, i, key=None):
        """Sorted member names node i lists, or None."""
        v = self.view(i, key)
        return sorted(m["name"] for m in v["members"]) if v else None

    def wait_members(self, count, nodes=None, quorate=True, timeout=20):
        """Waits until every listed node (default: all running) lists count members with the
        given quorum state; returns the time that happened."""
        nodes = nodes or [n.i for n in self.nodes if n.alive()]

        def agreed():
            for i in nodes:
                v = self.view(i)
                if not v or len(v["members"]) != count or v["quorate"] != quorate:
                    return False
            return True
        wait_for(agreed, timeout=timeout, interval=0.05,
                 what=f"nodes {nodes} to list {count} members (quorate={quorate})")
        return time.monotonic()

    def env(self):
        """The shell lines ./dev writes to .dev/cluster.env."""
        lines = [f"TANDEM_CLUSTER_RUN={self.net.run_id}", f"TANDEM_CLUSTER_DIR={self.dir}",
                 f"TANDEM_BRIDGE={self.net.bridge}", f"TANDEM_BRIDGE_IP={self.net.bridge_ip}",
                 f"TANDEM_PEERS_NS={self.net.peers_ns}",
                 f"TANDEM_PEERS_IPS=\"{' '.join(self.net.peer_ips)}\""]
        for n in self.nodes:
            k = f"TANDEM_NODE{n.i}"
            lines += [f"{k}_NS={n.ns}", f"{k}_SIP={n.ip}:{n.sip_port}", f"{k}_API={n.api}",
                      f"{k}_PID={n.pid or ''}", f"{k}_COROSYNC_PID={n.corosync.pid if n.corosync else ''}",
                      f"{k}_LOG={n.log_path}"]
        return "\n".join(lines) + "\n"

    # ---- ending ----

    def close(self):
        """Stops every process, removes the namespaces and bridge (and the Stack made here).
        Returns {node name: tandemd exit code} for the nodes that were running; the end of each
        node's log stays in self.final_logs."""
        codes = {}
        for n in self.nodes:
            if n.alive():
                codes[n.name] = self.stop_node(n.i)
        for n in self.nodes:
            if n.corosync and n.corosync.poll() is None:
                n.corosync.terminate()
                try:
                    n.corosync.wait(10)
                except subprocess.TimeoutExpired:
                    n.corosync.kill()
                    n.corosync.wait()
        # What the nodes said last, for a caller reporting a bad exit after the files are gone.
        self.final_logs = {n.name: n.log()[-8000:] for n in self.nodes
                           if os.path.exists(n.log_path)}
        self.net.down()
        if self.own_stack and self.stack:
            self.stack.close()
            self.stack = None
        if os.environ.get("TANDEM_KEEP_TMP") is None:
            shutil.rmtree(self.dir, ignore_errors=True)
        return codes


def main(argv=None):
    """Command line for ./dev: `net-up` makes the bridge and namespaces, `nodes-up` starts
    corosync and tandemd in them and writes the env file, `down` removes a run's everything."""
    import argparse
    ap = argparse.ArgumentParser(prog="cluster/netns.py")
    ap.add_argument("action", choices=["net-up", "nodes-up", "down"])
    ap.add_argument("--run-id", default="dev")
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--subnet", default="10.77.0")
    ap.add_argument("--dir", help="directory for configs and logs (nodes-up)")
    ap.add_argument("--build", default=BUILD)
    ap.add_argument("--postgres", help="conninfo reachable from the namespaces")
    ap.add_argument("--redis", help="host:port reachable from the namespaces")
    ap.add_argument("--nonce-secret")
    ap.add_argument("--token-ms", type=int, default=400)
    ap.add_argument("--env", help="write the shell env file here (nodes-up)")
    ap.add_argument("--key-file", help="superadmin API key, to see the members agree (nodes-up)")
    a = ap.parse_args(argv)
    if a.action == "down":
        teardown(a.run_id)
        return 0
    if a.action == "net-up":
        Network(a.nodes, a.subnet, a.run_id).up()
        return 0
    host, port = a.redis.rsplit(":", 1)
    c = Cluster(a.nodes, subnet=a.subnet, run_id=a.run_id, build=a.build, token_ms=a.token_ms,
                postgres=a.postgres, redis=(host, int(port)), workdir=a.dir,
                nonce_secret=a.nonce_secret,
                key=open(a.key_file).read().strip() if a.key_file else None)
    c.start(make_network=False)
    if a.env:
        with open(a.env, "w") as f:
            f.write("# Written by ./dev up --nodes; remove it all with ./dev down.\n" + c.env())
    # The processes outlive this command; `down` finds them through their namespaces.
    for n in c.nodes:
        n.proc = n.corosync = None
    return 0


if __name__ == "__main__":
    sys.exit(main())
