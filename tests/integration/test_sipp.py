"""SIPp end to end: a SIPp caller (tests/integration/sipp/uac_pcmu.xml, digest as a tenant user)
calls a number routed to a gateway that is a SIPp callee on loopback; each plays a tone from a
pcap (play_pcap_audio) made by tests/integration/rtp_pcap.c. tcpdump captures the loopback
during the call, and the same tool checks the wire: what the node sends each party carries
that party's payload type and decodes (libopus/spandsp, not the node's coders) to the other's
tone. Once PCMU caller to an Opus-only callee (transcoded both ways), once PCMU to PCMU."""
import json
import os
import re
import signal
import shutil
import socket
import subprocess

import pytest

from harness import BUILD, IS_ROOT, api, free_port, wait_for

DOMAIN = "sipp.tandem.test"
USER, PASSWORD = "7001", "sipp-calls-1"
TOOL = os.path.join(BUILD, "tests", "integration", "rtp_pcap")
SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sipp")
# The node's RTP ports, below the ephemeral range free_port (and so SIPp's -mp) draws from.
MEDIA_MIN, MEDIA_MAX = 20000, 20999
CALLER_HZ, CALLEE_HZ = 1000, 600
PLAYED = 100  # 20 ms packets in each pcap (2 s); the caller hangs up 3 s after its ACK
# A PCMU-only offer leaves 96 as the lowest free dynamic type, which the node gives Opus
# (call_codec.c, pick_pt); the callee answers at the offered type, so its pcap carries 96.
OPUS_PT = 96

pytestmark = pytest.mark.skipif(
    not (shutil.which("sipp") and shutil.which("tcpdump") and IS_ROOT),
    reason="needs sipp (Debian package sip-tester), tcpdump and root (raw sockets, capture)")


@pytest.fixture(scope="module")
def env(stack):
    assert os.path.exists(TOOL), f"{TOOL} not built"
    node = stack.node("node1", security__ban_failures=0, media__port_min=MEDIA_MIN,
                      media__port_max=MEDIA_MAX)
    status, tenant = api(node, "POST", "/v1/tenants", stack.key, {"name": "Sipp", "domain": DOMAIN})
    assert status == 201, tenant
    t = tenant["id"]
    assert api(node, "POST", f"/v1/tenants/{t}/users", stack.key,
               {"extension": USER, "password": PASSWORD})[0] == 201
    uas_port = free_port()
    # ping_interval 0: a SIPp callee takes an OPTIONS ping for a call it cannot play
    status, gw = api(node, "POST", f"/v1/tenants/{t}/gateways", stack.key,
                     {"name": "sipp-uas", "host": "127.0.0.1", "port": uas_port,
                      "ping_interval": 0})
    assert status == 201, gw
    status, r = api(node, "POST", f"/v1/tenants/{t}/routes", stack.key,
                    {"name": "out", "pattern": "^0[1-9][0-9]+$", "gateway_ids": [gw["id"]],
                     "priority": 100, "strip_digits": 1, "prepend": "+49"})
    assert status == 201, r
    return stack, node, uas_port


def tool(*args):
    out = subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout else None


def udp_bound(port):
    """Whether some socket is bound to UDP port on loopback (read, not probed by binding, so
    SIPp never finds the port taken by the check)."""
    with open("/proc/net/udp") as f:
        return any(line.split()[1].endswith(f":{port:04X}") for line in f.readlines()[1:])


class Capture:
    """tcpdump of the loopback's UDP into path, from when it says it is listening."""

    MARKER = bytes([0x80, 127]) + bytes(11)  # an RTP packet of payload type 127, one byte

    def __init__(self, path):
        self.path = path
        self.proc = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-U", "--immediate-mode",
                                      "-w", path, "udp"], stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        assert "listening on" in line, line + self.proc.stderr.read()

    def stop(self):
        """Stops once the file holds every packet sent so far: a marker sent last must be in
        it (packets reach the file in order). Returns tcpdump's summary."""
        port, note = free_port(), ""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(self.MARKER, ("127.0.0.1", port))
        try:
            wait_for(lambda: tool("read", self.path, "dst", port, "pcmu", 127)["packets"],
                     timeout=10, what="tcpdump to write the last packets")
        except TimeoutError as e:
            note = f"{e}\n"
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=15)
        return note + err


class Sipp:
    """One SIPp run of a scenario (-m 1), with its error and message traces in workdir."""

    def __init__(self, workdir, name, scenario, sip_port, media_port, *args):
        self.files = {k: os.path.join(workdir, f"{name}.{k}") for k in ("err", "msg", "out")}
        self.name = name
        # next to the scenario is where SIPp looks for the pcap it plays
        shutil.copy(os.path.join(SCENARIOS, scenario), workdir)
        cmd = ["sipp", "-sf", os.path.join(workdir, scenario), "-i", "127.0.0.1",
               "-p", str(sip_port), "-mi", "127.0.0.1", "-mp", str(media_port), "-m", "1",
               "-timeout", "20s", "-timeout_error", "-nostdin", "-trace_err", "-error_file",
               self.files["err"], "-trace_msg", "-message_file", self.files["msg"], *args]
        with open(self.files["out"], "w") as out:
            self.proc = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT)

    def wait(self):
        try:
            return self.proc.wait(timeout=40)  # -timeout stops SIPp well before
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def trace(self):
        text = ""
        for kind in ("err", "msg", "out"):
            if os.path.exists(self.files[kind]):
                with open(self.files[kind], errors="replace") as f:
                    text += f"--- {self.name} {kind} ---\n{f.read()[-6000:]}\n"
        return text

    def sent(self):
        """The SIP messages this SIPp sent, in order, from its -trace_msg file."""
        with open(self.files["msg"], errors="replace") as f:
            entries = re.split(r"(?m)^-{20,}.*$", f.read())
        return [e.split("\n", 2)[2].strip() for e in entries
                if re.match(r"\s*\S+ message sent", e) and e.count("\n") >= 2]


def sent_answer_pt(uas):
    """The payload type of the SDP in the 200 the callee sent."""
    ok = [m for m in uas.sent() if m.startswith("SIP/2.0 200") and "m=audio" in m]
    assert ok, uas.trace()
    return int(re.search(r"(?m)^m=audio \d+ RTP/AVP (\d+)", ok[0]).group(1))


def call_id(run, start):
    """The Call-ID of the first message run sent that starts with start."""
    for m in run.sent():
        if m.startswith(start):
            return re.search(r"(?mi)^Call-ID:\s*(\S+)", m).group(1)
    raise AssertionError(run.trace())


class Call:
    """One SIPp call under tcpdump: the caller (uac), the callee (uas), the capture and the
    media port each SIPp announced and played from."""

    def __init__(self, env, name, uas_scenario, number, callee_codec, callee_pt):
        stack, node, self.uas_port = env
        workdir = os.path.join(stack.root, f"sipp-{name}")
        os.makedirs(workdir)
        tool("write", os.path.join(workdir, "caller.pcap"), "pcmu", 0, CALLER_HZ, PLAYED / 50)
        tool("write", os.path.join(workdir, "callee.pcap"), callee_codec, callee_pt, CALLEE_HZ,
             PLAYED / 50)
        self.wire = os.path.join(workdir, "wire.pcap")
        self.uac_media, self.uas_media = free_port(), free_port()
        self.uac = self.uas = None
        cap = Capture(self.wire)
        try:
            self.uas = Sipp(workdir, "uas", uas_scenario, self.uas_port, self.uas_media)
            wait_for(lambda: udp_bound(self.uas_port) or self.uas.proc.poll() is not None,
                     timeout=10, what="the SIPp callee to listen")
            self.uac = Sipp(workdir, "uac", "uac_pcmu.xml", free_port(), self.uac_media,
                            f"127.0.0.1:{node.sip_port}", "-s", number, "-au", USER, "-ap",
                            PASSWORD, "-key", "user", USER, "-key", "domain", DOMAIN)
            codes = self.uac.wait(), self.uas.wait()
        finally:
            self.capture_log = cap.stop()
        # SIPp exits 0 when its one call went through the whole scenario (BYE answered 200)
        assert codes == (0, 0), self.context()

    def context(self):
        """What a failure prints: tcpdump's summary and both SIPp traces."""
        return "\n" + self.capture_log + "".join(r.trace() for r in (self.uac, self.uas) if r)

    def played(self, port, codec, pt, hz):
        """SIPp played its pcap from port: pt, every packet, the tone (the pcap itself)."""
        r = tool("read", self.wire, "src", port, codec, pt)
        assert r["pts"] == {str(pt): PLAYED} and r["dominant_hz"] == hz, f"{r}{self.context()}"

    def through_node(self, port, codec, pt, hz):
        """What the node sent to port: only payload type pt, from the node's media ports, about
        as many packets as the other side played, decoding to the other side's tone."""
        r = tool("read", self.wire, "dst", port, codec, pt)
        why = f"{r}{self.context()}"
        assert r["pts"] == {str(pt): r["packets"]}, why
        assert r["src_ports"] and all(MEDIA_MIN <= p <= MEDIA_MAX for p in r["src_ports"]), why
        assert r["packets"] >= PLAYED * 3 // 4, why
        assert r["dominant_hz"] == hz and r["ratio"] > 10, why
        return r


def cdr(stack, number):
    rows = wait_for(lambda: stack.pg.psql(
        f"SELECT row_to_json(c) FROM cdrs c WHERE callee_dialled = '{number}'").strip(),
        timeout=15, what="the CDR")
    assert len(rows.splitlines()) == 1, rows
    return json.loads(rows)


def check_cdr(stack, number, call, codec_b, pt_b, to_a, to_b):
    """The CDR names both SIPp dialogs, the caller, the number, the gateway, each leg's codec
    and the normal clearing by the caller; its packet counts are the wire's (to_a, to_b)."""
    row = cdr(stack, number)
    why = f"{row}{call.context()}"
    assert row["a_call_id"] == call_id(call.uac, "INVITE"), why
    assert row["b_call_id"] == call_id(call.uas, "SIP/2.0 200"), why
    assert (row["caller"], row["callee_dialled"], row["gateway"]) == (USER, number, "sipp-uas")
    # callee_routed is what was sent to the carrier: the rewritten number at the gateway
    assert re.match(rf"sip:\+49{number[1:]}@127\.0\.0\.1:{call.uas_port}\b",
                    row["callee_routed"]), why
    assert (row["codec_a"], row["codec_b"]) == ("PCMU", codec_b), why
    assert (row["sip_status"], row["q850_cause"], row["hangup_by"]) == (200, 16, "caller"), why
    a, b = row["media_a"], row["media_b"]
    assert (a["payload_type"], b["payload_type"]) == (0, pt_b), why
    assert (a["packets_in"], b["packets_in"]) == (PLAYED, PLAYED), why
    assert (a["packets_out"], b["packets_out"]) == (to_a["packets"], to_b["packets"]), why


def test_pcmu_caller_to_opus_callee_transcoded_on_the_wire(env):
    number = "0301110001"
    call = Call(env, "opus", "uas_opus.xml", number, "opus", OPUS_PT)
    assert sent_answer_pt(call.uas) == OPUS_PT, call.context()
    call.played(call.uac_media, "pcmu", 0, CALLER_HZ)
    call.played(call.uas_media, "opus", OPUS_PT, CALLEE_HZ)
    # The caller hears the callee's Opus tone as PCMU, the callee the caller's PCMU as Opus.
    to_a = call.through_node(call.uac_media, "pcmu", 0, CALLEE_HZ)
    to_b = call.through_node(call.uas_media, "opus", OPUS_PT, CALLER_HZ)
    check_cdr(env[0], number, call, "opus", OPUS_PT, to_a, to_b)


def test_pcmu_caller_to_pcmu_callee_on_the_wire(env):
    number = "0301110002"
    call = Call(env, "pcmu", "uas_pcmu.xml", number, "pcmu", 0)
    assert sent_answer_pt(call.uas) == 0, call.context()
    call.played(call.uac_media, "pcmu", 0, CALLER_HZ)
    call.played(call.uas_media, "pcmu", 0, CALLEE_HZ)
    to_a = call.through_node(call.uac_media, "pcmu", 0, CALLEE_HZ)
    to_b = call.through_node(call.uas_media, "pcmu", 0, CALLER_HZ)
    check_cdr(env[0], number, call, "PCMU", 0, to_a, to_b)
