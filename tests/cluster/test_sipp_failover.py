"""SIPp through a node that dies, in VIP and in re-INVITE mode: a SIPp caller in the peers
namespace places CALLS calls with digest through node 1's service address to a SIPp callee there
(a gateway of the tenant); both play 20 ms PCMA from a pcap for the whole call. Node 1 loses its cable and is
killed -9 in the middle. In re-INVITE mode both SIPps answer the successor's re-INVITE
(tests/cluster/sipp/*.part.xml) and play their audio to its address. SIPp must count every call
as completed (its BYE answered 200 by the successor), the callee must have every BYE, each call
leaves one CDR by the successor marked as failed over, and tcpdump in the peers namespace shows
the media of every stream resuming (the gap per stream is printed)."""
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

from cluster_calls import DOMAIN, PASSWORD, finish, make_cluster, successor  # noqa: E402
from harness import BUILD, wait_for  # noqa: E402

CALLS = 20
HOLD_MS = 9000  # VIP: each call, from its ACK to the caller's BYE; re-INVITE: from the re-INVITE
NUMBER = "0123456"  # routed to the callee gateway
UAS_PORT, UAC_PORT = 5080, 5070
TOOL = os.path.join(BUILD, "tests", "integration", "rtp_pcap")
SCENARIOS = os.path.join(HERE, "..", "bench", "sipp")
# re-INVITE mode: where each part goes in the bench scenario (it replaces the caller's pause)
REINVITE_PARTS = {"uac.xml": ('  <pause milliseconds="[hold]"/>\n', "uac_reinvite.part.xml", True),
                  "uas.xml": ('  <!-- the caller hangs up;', "uas_reinvite.part.xml", False)}

pytestmark = pytest.mark.skipif(not (shutil.which("sipp") and shutil.which("tcpdump")),
                                reason="needs sipp (Debian package sip-tester) and tcpdump")


@pytest.fixture(scope="module", params=["vip", "reinvite"])
def cluster(request):
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    stack, c = make_cluster(request.param, 300, 1)
    try:
        yield c
    finally:
        finish(stack, c)


def scenario(workdir, name, pcap, mode):
    with open(os.path.join(SCENARIOS, name)) as f:
        text = f.read()
    if mode == "reinvite":
        anchor, part, replaces = REINVITE_PARTS[name]
        with open(os.path.join(HERE, "sipp", part)) as f:
            part = f.read()
        assert anchor in text, f"{name} no longer has {anchor!r}"
        text = text.replace(anchor, part if replaces else part + anchor)
    text = text.replace("[pcap]", pcap).replace("[hold]", str(HOLD_MS))
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def sipp(c, workdir, name, sf, ip, port, media_port, *args):
    out = open(os.path.join(workdir, f"{name}.out"), "w")
    cmd = ["ip", "netns", "exec", c.net.peers_ns, "sipp", "-sf", sf, "-i", ip, "-p", str(port),
           "-mi", ip, "-mp", str(media_port), "-m", str(CALLS), "-nostdin", "-timeout", "60s",
           "-timeout_error", "-trace_err", "-error_file", os.path.join(workdir, f"{name}.err"),
           "-trace_msg", "-message_file", os.path.join(workdir, f"{name}.msg"),
           *args]
    p = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL, stdout=out,
                         stderr=subprocess.STDOUT)
    out.close()
    return p


def tail(workdir, name):
    text = ""
    for kind in ("err", "out"):
        path = os.path.join(workdir, f"{name}.{kind}")
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                text += f"--- {name}.{kind}\n{f.read()[-3000:]}\n"
    return text


def rtp_arrivals(path, to_ips, pt):
    """{(source ip, source port, destination ip): [arrival times]} of the RTP packets of
    payload type pt in a pcap (Ethernet link) addressed to one of to_ips."""
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
        sport = struct.unpack(">H", pkt[14 + ihl:16 + ihl])[0]
        streams.setdefault((src, sport, dst), []).append(sec + frac / (1e9 if ns else 1e6))
    return streams


def test_sipp_calls_survive_the_death_of_their_node(cluster, tmp_path):
    c = cluster
    n1 = c.node(1)
    caller_ip, callee_ip = c.net.peer_ips[2], c.net.peer_ips[3]
    status, tenants = c.api(1, "GET", "/v1/tenants")
    t = next(x["id"] for x in tenants if x["domain"] == DOMAIN)
    status, gw = c.api(1, "POST", f"/v1/tenants/{t}/gateways",
                       body={"name": "sipp-callee", "host": callee_ip, "port": UAS_PORT,
                             "ping_interval": 0})
    assert status == 201, gw
    status, route = c.api(1, "POST", f"/v1/tenants/{t}/routes",
                          body={"name": "out", "pattern": "^0[1-9][0-9]+$",
                                "gateway_ids": [gw["id"]], "priority": 100})
    assert status == 201, route

    workdir = str(tmp_path)
    pcap = os.path.join(workdir, "tone.pcap")
    out = subprocess.run([TOOL, "write", pcap, "pcma", "8", "1000", str(HOLD_MS / 1000 + 2)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    wire = os.path.join(workdir, "wire.pcap")
    dump = subprocess.Popen(["ip", "netns", "exec", c.net.peers_ns, "tcpdump", "-i", "eth0",
                             "-n", "-U", "--immediate-mode", "-w", wire,
                             "udp and src portrange 30000-31999"],
                            stderr=subprocess.PIPE, text=True)
    assert "listening on" in dump.stderr.readline()

    uas = sipp(c, workdir, "uas", scenario(workdir, "uas.xml", pcap, c.mode), callee_ip,
               UAS_PORT, 6000)
    time.sleep(0.5)
    uac = sipp(c, workdir, "uac", scenario(workdir, "uac.xml", pcap, c.mode), caller_ip,
               UAC_PORT, 6100, f"{n1.ip}:5060", "-s", NUMBER, "-key", "caller", "7000",
               "-key", "domain", DOMAIN, "-au", "7000", "-ap", PASSWORD, "-r", "10", "-l", str(CALLS))
    try:
        wait_for(lambda: n1.log().count("answered by") >= CALLS, timeout=20,
                 what=f"{CALLS} SIPp calls answered through n1")
        time.sleep(2.0)
        killed_wall = time.time()
        c.net.link(1, False)
        c.kill(1)
        wait_for(lambda: successor(c, "n1"), timeout=15, what="a survivor to take over n1")
        heir = successor(c, "n1")
        assert uac.wait(timeout=60) == 0, tail(workdir, "uac")
        assert uas.wait(timeout=30) == 0, tail(workdir, "uas")
    finally:
        for p in (uac, uas):
            if p.poll() is None:
                p.kill()
                p.wait()
        dump.terminate()
        dump.communicate(timeout=15)

    label = "VIP" if c.mode == "vip" else "re-INVITE"
    assert heir.log().count(f"recovered from n1 ({label})") == CALLS

    # One CDR per call, by the successor, marked as failed over.
    def rows():
        out = c.stack.pg.psql("SELECT node, failover FROM cdrs WHERE callee_dialled = "
                              f"'{NUMBER}'")
        return [line.split("|") for line in out.splitlines() if line]
    wait_for(lambda: len(rows()) >= CALLS, timeout=10, what="every CDR")
    time.sleep(0.5)
    assert sorted(map(tuple, rows())) == [(heir.name, "t")] * CALLS

    # The media of every call, to each SIPp, before and after: it resumed on every stream.
    streams = rtp_arrivals(wire, {caller_ip, callee_ip}, 8)
    if c.mode == "vip":
        gaps = vip_gaps(streams, killed_wall)
    else:
        gaps = reinvite_gaps(streams, killed_wall, n1.ip, heir.ip)
    print(f"\nSIPp {label} failover of {CALLS} calls: media gap median "
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
    assert len(streams) == 2 * CALLS, sorted(streams)
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
    assert len(before) == 2 * CALLS and len(after) == 2 * CALLS, sorted(streams)
    last = {}
    for key, times in before.items():
        audio_before(key, times, killed_wall)
        last[key[2]] = max(last.get(key[2], 0.0), max(times))
    gaps = []
    for key, times in after.items():
        resumed(key, times, killed_wall + 2.0)
        gaps.append(min(times) - last[key[2]])
    return gaps
