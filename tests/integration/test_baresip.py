"""Two real baresip clients (Debian package, headless) register and call each other through the
node, audio flows both ways through its relay, the caller hangs up, and the CDR row is right.

How baresip runs here (v1.0.0 from Debian bookworm's baresip-core; no sound card, loopback only):
- each UA gets its own config directory (-f DIR) written by the test: config, accounts, contacts;
- `net_interface 127.0.0.1` pins SIP and RTP to loopback (the default picks eth0's address);
- `sip_listen 127.0.0.1:P` binds UDP+TCP on P and TLS on P+1, so P+1 must be free as well;
- audio source `ausine` (a 440 Hz tone; it only does 48 kHz stereo, hence ausrc_srate and
  ausrc_channels), player `aubridge` (a pseudo device that needs no hardware), codec g711;
- `ctrl_tcp` is the control interface: netstring JSON commands ({"command": "dial", ...}) in,
  responses and events (CALL_ESTABLISHED, CALL_CLOSED...) out; `menu` provides the commands;
- the callee's account has answermode=auto; `rtp_stats yes` makes each UA print its RTP
  transmit/receive packet counts when the call ends, which is how audio is checked on both sides;
- stdin is /dev/null and the `stdio` UI module is not loaded (it fails without a terminal).
The processes die with the test run (PR_SET_PDEATHSIG) and are quit, then killed, at teardown."""
import ctypes
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from harness import api, free_port, live_call, wait_for

DOMAIN = "baresip.tandem.test"
PASSWORD = "bare-sip-secret-7"
BARESIP = shutil.which("baresip")
MODULES = "/usr/lib/baresip/modules"

pytestmark = pytest.mark.skipif(
    BARESIP is None or not os.path.exists(os.path.join(MODULES, "ctrl_tcp.so")),
    reason="baresip not installed (Debian package baresip-core)")


def _die_with_parent():
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: no baresip outlives the test run


def _sip_port():
    """A port free for UDP and TCP whose next port is free for TCP (baresip's TLS listener)."""
    for _ in range(100):
        port = free_port()
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                t.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free pair of ports")


class Baresip:
    """One headless baresip process driven over ctrl_tcp."""

    def __init__(self, root, ext, node, rtp_ports, answermode="manual"):
        self.ext = ext
        self.dir = os.path.join(root, f"baresip-{ext}")
        os.makedirs(self.dir)
        self.sip_port = _sip_port()
        self.ctrl_port = free_port()
        config = {
            "poll_method": "epoll",
            "sip_listen": f"127.0.0.1:{self.sip_port}",
            "net_interface": "127.0.0.1",
            "call_local_timeout": 30,
            "audio_player": f"aubridge,play{ext}",
            "audio_alert": f"aubridge,alert{ext}",
            "audio_source": "ausine,440",
            "ausrc_srate": 48000,
            "ausrc_channels": 2,
            "rtp_ports": rtp_ports,
            "rtp_stats": "yes",
            "rtcp_mux": "no",
            "statmode_default": "off",
            "ringback_disabled": "yes",
            "module_path": MODULES,
            "ctrl_tcp_listen": f"127.0.0.1:{self.ctrl_port}",
        }
        lines = [f"{k}\t\t{v}" for k, v in config.items()]
        lines += [f"module\t\t{m}.so" for m in ("g711", "ausine", "aubridge")]
        lines += ["module_tmp\t\taccount.so"]
        lines += [f"module_app\t\t{m}.so" for m in ("menu", "ctrl_tcp")]
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(f"<sip:{ext}@{DOMAIN}>;auth_pass={PASSWORD};"
                    f"outbound=\"sip:127.0.0.1:{node.sip_port};transport=udp\";"
                    f"answermode={answermode};regint=600\n")
        open(os.path.join(self.dir, "contacts"), "w").close()
        self.log_path = os.path.join(self.dir, "baresip.log")
        self.events = queue.Queue()
        self.responses = queue.Queue()
        self.sock = None
        self.proc = subprocess.Popen([BARESIP, "-f", self.dir], cwd=self.dir,
                                     stdin=subprocess.DEVNULL, stdout=open(self.log_path, "w"),
                                     stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        self.sock = wait_for(self._connect, timeout=10, interval=0.1,
                             what=f"baresip {ext}'s ctrl_tcp")
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _connect(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"baresip {self.ext} exited with {self.proc.returncode}:\n"
                               + self.log())
        try:
            return socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1)
        except OSError:
            return None

    def _read(self):
        """Splits the netstring stream into JSON messages: events and command responses."""
        buf = b""
        self.sock.settimeout(0.5)
        while self.sock is not None:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            buf += data
            while True:
                m = re.match(rb"(\d+):", buf)
                if not m or len(buf) < m.end() + int(m.group(1)) + 1:
                    break
                end = m.end() + int(m.group(1))
                msg = json.loads(buf[m.end():end])
                buf = buf[end + 1:]  # the trailing ','
                (self.events if msg.get("event") else self.responses).put(msg)

    def command(self, cmd, params=None, timeout=5):
        msg = {"command": cmd, "token": f"{cmd}-{time.monotonic_ns()}"}
        if params is not None:
            msg["params"] = params
        data = json.dumps(msg).encode()
        self.sock.sendall(str(len(data)).encode() + b":" + data + b",")
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"baresip {self.ext}: no response to {cmd}")
            try:
                resp = self.responses.get(timeout=left)
            except queue.Empty:
                continue
            if resp.get("token") == msg["token"]:
                assert resp.get("ok"), f"baresip {self.ext}: {cmd} failed: {resp}"
                return resp

    def event(self, kind, timeout=10):
        """The next event of that type (earlier events of other types are dropped)."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"baresip {self.ext}: no {kind} event (saw {seen})\n"
                                   + self.log()[-3000:])
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if ev.get("type") == kind:
                return ev
            seen.append(ev.get("type"))

    def rtp_stats(self):
        """(transmitted, received) audio packets from the table printed at the end of a call."""
        m = re.search(r"^packets:\s+(\d+)\s+(\d+)", self.log(), re.M)
        return (int(m.group(1)), int(m.group(2))) if m else None

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None and self.sock is not None:
            try:
                self.command("quit", timeout=2)
            except (OSError, TimeoutError, AssertionError):
                pass
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def env(stack):
    node = stack.node("node1", security__ban_failures=0, media__port_min=37000,
                      media__port_max=37999, cdr__flush_ms=200)
    status, tenant = api(node, "POST", "/v1/tenants", stack.key,
                         {"name": "Baresip", "domain": DOMAIN})
    assert status == 201
    for ext in ("1001", "1002"):
        assert api(node, "POST", f"/v1/tenants/{tenant['id']}/users", stack.key,
                   {"extension": ext, "password": PASSWORD})[0] == 201
    uas = []
    try:
        uas.append(Baresip(stack.root, "1001", node, "38000-38499"))
        uas.append(Baresip(stack.root, "1002", node, "38500-38999", answermode="auto"))
        yield stack, node, tenant["id"], uas[0], uas[1]
    finally:
        for ua in uas:
            ua.stop()


def test_two_baresip_clients_call_through_the_node_and_the_cdr_is_right(env):
    stack, node, tenant, alice, bob = env
    base = f"/v1/tenants/{tenant}"

    def bindings():
        status, regs = api(node, "GET", base + "/registrations", stack.key)
        assert status == 200
        return {r["aor"]: r for r in regs}

    regs = wait_for(lambda: (lambda b: b if len(b) == 2 else None)(bindings()), timeout=15,
                    what="both baresip registrations")
    for ext, ua in (("1001", alice), ("1002", bob)):
        reg = regs[f"sip:{ext}@{DOMAIN}"]
        assert "baresip" in reg["user_agent"], reg
        assert reg["transport"] == "udp" and reg["received"] == f"127.0.0.1:{ua.sip_port}", reg

    alice.command("dial", f"sip:1002@{DOMAIN}")
    established = alice.event("CALL_ESTABLISHED", timeout=15)
    bob.event("CALL_ESTABLISHED", timeout=5)  # auto-answered

    call = live_call(node, stack.key, tenant, established["id"])
    assert call["caller"] == "1001" and call["callee"] == "1002", call
    assert call["state"] == "confirmed", call
    assert call["callee_routed"].startswith("sip:1002-") and \
        call["callee_routed"].endswith(f"@127.0.0.1:{bob.sip_port}"), call

    # Each UA receives its RTP from the node's relay port for its leg (anchored media).
    for ua, leg in ((alice, "a"), (bob, "b")):
        wait_for(lambda: f"receiving from 127.0.0.1:{call[leg]['media_port']}" in ua.log(),
                 timeout=5, what=f"baresip {ua.ext} to receive RTP from the relay")

    time.sleep(2)
    alice.command("hangup")
    alice.event("CALL_CLOSED", timeout=5)
    bob.event("CALL_CLOSED", timeout=5)

    # Audio flowed both ways: 20 ms packets for ~2 s, each side sent and received them.
    for ua in (alice, bob):
        tx, rx = wait_for(ua.rtp_stats, timeout=5, what=f"baresip {ua.ext}'s RTP stats")
        assert tx >= 50 and rx >= 50, (ua.ext, tx, rx)

    out = wait_for(lambda: stack.pg.psql(
        "SELECT row_to_json(c) FROM cdrs c WHERE a_call_id = '" + established["id"] + "'"),
        timeout=15, what="the CDR row")
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["tenant_id"] == tenant and row["call_uuid"] == call["uuid"]
    assert row["caller"] == "1001" and row["callee_dialled"] == "1002"
    assert row["callee_routed"] == call["callee_routed"]
    assert row["start_at"] and row["answer_at"] and row["end_at"]
    assert 1000 <= row["billsec_ms"] <= 10000, row
    assert row["duration_ms"] >= row["billsec_ms"]
    assert row["sip_status"] == 200 and row["q850_cause"] == 16
    assert row["hangup_by"] == "caller" and row["node"] == "node1"
    # Per-leg relay statistics, once the node writes them (media_a/media_b stay NULL before).
    for leg in ("media_a", "media_b"):
        if row[leg] is not None:
            assert row[leg]["packets_in"] > 0 and row[leg]["packets_out"] > 0, (leg, row[leg])

    # Nothing is left live on the node.
    wait_for(lambda: not [c for c in api(node, "GET", base + "/calls", stack.key)[1]
                          if c["uuid"] == call["uuid"]],
             timeout=5, what="the call to leave the list")
