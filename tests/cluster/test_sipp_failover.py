"""SIPp through a node that dies, in VIP and in re-INVITE mode. SIPp callers in the peers
namespace place CALLS calls with digest through node 1's service address to SIPp callees there
(gateways of the tenant); both ends play 20 ms PCMA from a pcap. HELD of the calls are put on hold
by their caller before the failure (the held callee then sends nothing). Node 1 loses its cable
and is killed -9 in the middle. In re-INVITE mode every SIPp answers the successor's re-INVITE
and plays to its address. Then half the calls are hung up by the caller and half by the callee.
Each kind of call (held or not, who hangs up) has its own pair of SIPps, number and gateway; the
scenarios are in sipp_scenarios.py. SIPp must count every call as completed (each BYE, from either
side, answered 200), each call leaves one CDR by the successor marked as failed over and naming
who hung up, and tcpdump in the peers namespace shows the media of every stream resuming (the
gap per stream is printed)."""
import os
import shutil
import statistics
import struct
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import sipp_scenarios  # noqa: E402
from cluster_calls import (DOMAIN, PASSWORD, down_wall, failover_times, finish,  # noqa: E402
                           make_cluster, successor)
from harness import BUILD, wait_for  # noqa: E402

CALLS = int(os.environ.get("TANDEM_FAILOVER_CALLS", "100"))
HELD = CALLS // 10
# VIP: each call, from its ACK (or hold) to its BYE; re-INVITE: from the successor's re-INVITE.
HOLD_MS = {"vip": 11000, "reinvite": 5000}
TOKEN_MS = 300
TOOL = os.path.join(BUILD, "tests", "integration", "rtp_pcap")


class Kind:
    """One kind of call and the pair of SIPps that make it: k numbers the ports and the number
    dialled (0k23456, routed to this kind's callee)."""

    def __init__(self, k, held, hangs_up, calls):
        self.k, self.held, self.hangs_up, self.calls = k, held, hangs_up, calls
        self.number = f"0{k}23456"
        self.uac_port, self.uas_port = 5070 + k, 5080 + k
        self.uac_media, self.uas_media = 6100 + 10 * k, 6000 + 10 * k
        self.name = f"{'held' if held else 'talking'}-{hangs_up}-hangs-up"


KINDS = [Kind(1, False, "caller", (CALLS - HELD) // 2),
         Kind(2, False, "callee", CALLS - HELD - (CALLS - HELD) // 2),
         Kind(3, True, "caller", HELD // 2), Kind(4, True, "callee", HELD - HELD // 2)]

pytestmark = pytest.mark.skipif(not (shutil.which("sipp") and shutil.which("tcpdump")),
                                reason="needs sipp (Debian package sip-tester) and tcpdump")


@pytest.fixture(scope="module", params=["vip", "reinvite"])
def cluster(request):
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    stack, c = make_cluster(request.param, TOKEN_MS, 1)
    try:
        yield c
    finally:
        finish(stack, c)


def write(workdir, name, text):
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def sipp(c, workdir, name, sf, ip, port, media_port, calls, *args):
    out = open(os.path.join(workdir, f"{name}.out"), "w")
    cmd = ["ip", "netns", "exec", c.net.peers_ns, "sipp", "-sf", sf, "-i", ip, "-p", str(port),
           "-mi", ip, "-mp", str(media_port), "-m", str(calls), "-nostdin", "-timeout", "90s",
           "-timeout_error", "-trace_err", "-error_file", os.path.join(workdir, f"{name}.err"),
           "-trace_msg", "-message_file", os.path.join(workdir, f"{name}.msg"), *args]
    p = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL, stdout=out,
                         stderr=subprocess.STDOUT)
    out.close()
    return p


def route_kinds(c, callee_ip):
    """A gateway and a route per kind of call: its number reaches its own callee SIPp."""
    status, tenants = c.api(1, "GET", "/v1/tenants")
    t = next(x["id"] for x in tenants if x["domain"] == DOMAIN)
    for kind in KINDS:
        status, gw = c.api(1, "POST", f"/v1/tenants/{t}/gateways",
                           body={"name": f"sipp-{kind.name}", "host": callee_ip,
                                 "port": kind.uas_port, "ping_interval": 0})
        assert status == 201, gw
        status, route = c.api(1, "POST", f"/v1/tenants/{t}/routes",
                              body={"name": kind.name, "pattern": f"^{kind.number}$",
                                    "gateway_ids": [gw["id"]], "priority": 100 + kind.k})
        assert status == 201, route


def pcap_of(workdir, name, seconds):
    path = os.path.join(workdir, name)
    out = subprocess.run([TOOL, "write", path, "pcma", "8", "1000", str(seconds)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return path


def tail(workdir, name):
    text = ""
    for kind in ("err", "out"):
        path = os.path.join(workdir, f"{name}.{kind}")
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                text += f"--- {name}.{kind}\n{f.read()[-3000:]}\n"
    return text


def rtp_arrivals(path, to_ips, pt):
    """{(source ip, source port, destination ip, destination port): [arrival times]} of the RTP
    packets of payload type pt in a pcap (Ethernet link) addressed to one of to_ips."""
    streams = {}
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    ns = magic == 0xa1b23c4d
    assert magic in (0xa1b2c3d4, 0xa1b23c4d), hex(magic)
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 42 or pkt[12:14] != b"\x08\x00" or pkt[23] != 17:
            continue
        ihl = (pkt[14] & 0x0f) * 4
        src = ".".join(map(str, pkt[26:30]))
        dst = ".".join(map(str, pkt[30:34]))
        if dst not in to_ips:
            continue
        rtp = pkt[14 + ihl + 8:]
        if len(rtp) < 12 or rtp[0] >> 6 != 2 or rtp[1] & 0x7f != pt:
            continue  # RTCP, or not the call's audio
        sport, dport = struct.unpack(">HH", pkt[14 + ihl:18 + ihl])
        streams.setdefault((src, sport, dst, dport), []).append(sec + frac / (1e9 if ns else 1e6))
    return streams


def test_sipp_calls_survive_the_death_of_their_node(cluster, tmp_path):
    c = cluster
    n1 = c.node(1)
    caller_ip, callee_ip = c.net.peer_ips[2], c.net.peer_ips[3]
    route_kinds(c, callee_ip)
    workdir = str(tmp_path)
    hold_ms = HOLD_MS[c.mode]
    pcap = pcap_of(workdir, "tone.pcap", hold_ms / 1000 + 6)
    silence = pcap_of(workdir, "silence.pcap", 0.02)  # one packet: a held callee's last
    wire = os.path.join(workdir, "wire.pcap")
    dump = subprocess.Popen(["ip", "netns", "exec", c.net.peers_ns, "tcpdump", "-i", "eth0",
                             "-n", "-U", "--immediate-mode", "-w", wire,
                             "udp and src portrange 30000-31999"],
                            stderr=subprocess.PIPE, text=True)
    assert "listening on" in dump.stderr.readline()

    procs = {}
    try:
        for kind in KINDS:
            sf = write(workdir, f"uas-{kind.name}.xml",
                       sipp_scenarios.callee(c.mode, kind.held, kind.hangs_up, pcap, silence,
                                             hold_ms))
            procs[f"uas-{kind.name}"] = sipp(c, workdir, f"uas-{kind.name}", sf, callee_ip,
                                             kind.uas_port, kind.uas_media, kind.calls)
        time.sleep(0.5)
        # The held calls first: they are on hold long before the failure.
        for kind in sorted(KINDS, key=lambda k: not k.held):
            sf = write(workdir, f"uac-{kind.name}.xml",
                       sipp_scenarios.caller(c.mode, kind.held, kind.hangs_up, pcap, hold_ms))
            procs[f"uac-{kind.name}"] = sipp(
                c, workdir, f"uac-{kind.name}", sf, caller_ip, kind.uac_port, kind.uac_media,
                kind.calls, f"{n1.ip}:5060", "-s", kind.number, "-key", "caller", "7000",
                "-key", "domain", DOMAIN, "-au", "7000", "-ap", PASSWORD, "-r", "25",
                "-l", str(kind.calls))
        wait_for(lambda: n1.log().count("answered by") >= CALLS, timeout=30,
                 what=f"{CALLS} SIPp calls answered through n1")
        time.sleep(2.0)
        killed_wall = time.time()
        c.net.link(1, False)
        c.kill(1)
        wait_for(lambda: successor(c, "n1"), timeout=15, what="a survivor to take over n1")
        heir = successor(c, "n1")
        for name, p in procs.items():
            assert p.wait(timeout=90) == 0, tail(workdir, name)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        dump.terminate()
        dump.communicate(timeout=15)

    label = "VIP" if c.mode == "vip" else "re-INVITE"
    assert heir.log().count(f"recovered from n1 ({label})") == CALLS

    # One CDR per call, by the successor, marked as failed over, naming who hung up.
    def rows():
        out = c.stack.pg.psql("SELECT callee_dialled, node, failover, hangup_by FROM cdrs")
        return sorted(tuple(line.split("|")) for line in out.splitlines() if line)
    wait_for(lambda: len(rows()) >= CALLS, timeout=10, what="every CDR")
    time.sleep(0.5)
    assert rows() == sorted((kind.number, heir.name, "t", kind.hangs_up)
                            for kind in KINDS for _ in range(kind.calls))

    # The media of every call, to each SIPp, before and after: it resumed on every stream a
    # party should hear; a held caller hears nothing (at most the held callee's one packet).
    streams = rtp_arrivals(wire, {caller_ip, callee_ip}, 8)
    held_ports = {kind.uac_media for kind in KINDS if kind.held}
    muted = {k: v for k, v in streams.items() if k[2] == caller_ip and k[3] in held_ports}
    audible = {k: v for k, v in streams.items() if k not in muted}
    for key, times in muted.items():
        assert len([x for x in times if x > killed_wall - 1.0]) <= 1, \
            f"held caller's stream {key} is not silent"
    if c.mode == "vip":
        gaps = vip_gaps(audible, killed_wall)
    else:
        gaps = reinvite_gaps(audible, killed_wall, n1.ip, heir.ip)
    times = failover_times(heir, "n1")
    print(f"\nSIPp {label} failover of {CALLS} calls ({HELD} held), corosync token {TOKEN_MS} ms: "
          f"member down after {down_wall(heir, 'n1') - killed_wall:.2f} s; claim {times[0]} ms, "
          f"address {times[1]} ms, calls restored {times[2]} ms after that; media gap median "
          f"{statistics.median(gaps):.3f} s, worst {max(gaps):.3f} s over {len(gaps)} streams")


def audio_before(key, times, killed_wall):
    assert any(killed_wall - 1.0 <= x <= killed_wall for x in times), \
        f"stream {key} had no audio before the kill"


def resumed(key, times, after):
    later = [x for x in times if x > after]
    assert len(later) >= 50, f"stream {key} did not resume: {len(later)} packets after"


def vip_gaps(streams, killed_wall):
    """The successor relays from the dead node's address and ports: each stream goes on under
    the same key, and its gap is the longest silence around the kill."""
    assert len(streams) == 2 * CALLS - HELD, sorted(streams)
    gaps = []
    for key, times in streams.items():
        audio_before(key, times, killed_wall)
        resumed(key, times, killed_wall + 2.0)
        window = [x for x in times if killed_wall - 1.0 <= x <= killed_wall + 4.0]
        gaps.append(max(b - a for a, b in zip(window, window[1:])))
    return gaps


def reinvite_gaps(streams, killed_wall, dead_ip, heir_ip):
    """The successor relays from its own address and new ports: the streams before and after
    are different. SIPp plays every call from one port with one SSRC, so a stream after cannot
    be paired with its stream before; the gap of each stream after is measured from the last
    packet the dead node sent to the same SIPp."""
    before = {k: v for k, v in streams.items() if k[0] == dead_ip}
    after = {k: v for k, v in streams.items() if k[0] == heir_ip}
    assert len(before) == 2 * CALLS - HELD and len(after) == 2 * CALLS - HELD, sorted(streams)
    last = {}
    for key, times in before.items():
        audio_before(key, times, killed_wall)
        last[key[2]] = max(last.get(key[2], 0.0), max(times))
    gaps = []
    for key, times in after.items():
        resumed(key, times, killed_wall + 2.0)
        gaps.append(min(times) - last[key[2]])
    return gaps
