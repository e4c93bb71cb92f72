"""Transcoding on the node between legs that share no codec, checked on the wire: each phone's
media is tests/integration/codec_peer.c (libopus and spandsp on the test's side), which sends a
tone in its own codec and decodes what it receives. PCMU caller to an Opus-only callee (with
RFC 4733 events), PCMA to PCMU, PCMU to a G.722-only gateway, and a codec change by re-INVITE
that the other phone must not notice in its stream. CDRs and GET calls name each leg's codec."""
import json
import os
import re
import subprocess

import pytest

from harness import BUILD, api, live_call, wait_for
from sipphone import Phone, sdp_media

DOMAIN = "transcode.tandem.test"
PASSWORD = "many-codecs-1"
PEER = os.path.join(BUILD, "tests", "integration", "codec_peer")
HEAD = "v=0\r\no=- {o} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"


class Carrier(Phone):
    """A carrier's SIP side: never registers, answers what the node sends it."""

    def __init__(self, node):
        super().__init__(node.sip_port, "carrier", "carrier.example", "unused")


@pytest.fixture(scope="module")
def env(stack):
    assert os.path.exists(PEER), f"{PEER} not built"
    node = stack.node("node1", security__ban_failures=0, media__port_min=38000,
                      media__port_max=38999)
    status, tenant = api(node, "POST", "/v1/tenants", stack.key,
                         {"name": "Transcode", "domain": DOMAIN})
    assert status == 201
    t = tenant["id"]
    for ext in ("7001", "7002"):
        assert api(node, "POST", f"/v1/tenants/{t}/users", stack.key,
                   {"extension": ext, "password": PASSWORD})[0] == 201
    carrier = Carrier(node)
    status, gw = api(node, "POST", f"/v1/tenants/{t}/gateways", stack.key,
                     {"name": "carrier", "host": "127.0.0.1", "port": carrier.port})
    assert status == 201, gw
    status, r = api(node, "POST", f"/v1/tenants/{t}/routes", stack.key,
                    {"name": "out", "pattern": "^0[1-9][0-9]+$", "gateway_ids": [gw["id"]],
                     "priority": 100})
    assert status == 201, r
    yield stack, node, t, carrier
    carrier.close()


def sdp(port, fmts, rtpmaps=()):
    """An SDP with exactly these payload types (and their a=rtpmap lines)."""
    return (HEAD.format(o=port) + f"m=audio {port} RTP/AVP {' '.join(map(str, fmts))}\r\n" +
            "".join(f"a=rtpmap:{m}\r\n" for m in rtpmaps) + "a=sendrecv\r\n")


def m_line(body):
    return [int(x) for x in re.search(r"(?m)^m=audio \d+ \S+ ([\d ]+)", body).group(1).split()]


def rtpmap_pt(body, name):
    """The payload type the SDP gives codec name ("opus/48000", "telephone-event/48000")."""
    m = re.search(rf"(?mi)^a=rtpmap:(\d+) {re.escape(name)}", body)
    return int(m.group(1)) if m else None


def phone(node, ext):
    p = Phone(node.sip_port, ext, DOMAIN, PASSWORD)
    p.register()
    return p


def connect(a, callee, b, a_offer, b_answer):
    """A calls callee with a_offer; b answers with b_answer(its INVITE). Returns (B's INVITE,
    A's 200)."""
    a.call(callee, wait_final=False, body=a_offer)
    inv = b.answer(sdp=b_answer)
    responses = []
    while not responses or responses[-1].status < 200:
        responses.append(a.next(timeout=10, want=lambda m: not m.is_request and
                                m.header("call-id") == a.dialog["call_id"]))
    final = responses[-1]
    assert final.status == 200, final.raw
    a.confirm(final)
    return inv, final


def start_peer(port, dest, send, send_pt, recv, recv_pt, hz, seconds, events=None):
    """codec_peer on a phone's RTP port (the one its SDP announced; see take)."""
    args = [PEER, str(port), dest[0], str(dest[1]), send, str(send_pt), recv, str(recv_pt),
            str(hz), str(seconds)]
    if events:
        args += [str(events[0]), str(events[1])]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def take(rtp):
    """The phone's RTP port, its socket closed so that codec_peer can bind it."""
    rtp.sock.close()
    return rtp.port


def report(proc):
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return json.loads(out)


def heard(r, pt, hz):
    """The peer received a stream of payload type pt that decodes to a hz tone."""
    assert r["pts"].get(str(pt), 0) >= 40, r
    assert r["dominant_hz"] == hz, r
    assert r["ratio"] > 10, r


def live_codecs(node, stack, tenant, call_id):
    call = live_call(node, stack.key, tenant, call_id)
    return call["a"]["codec"], call["b"]["codec"]


def cdr(stack, call_id):
    rows = wait_for(lambda: stack.pg.psql(
        f"SELECT row_to_json(c) FROM cdrs c WHERE a_call_id = '{call_id}'").strip(),
        timeout=15, what="the CDR")
    return json.loads(rows.splitlines()[0])


def hang_up(a, b):
    assert a.bye().status == 200
    b.expect_bye()


def test_pcmu_caller_and_opus_callee_hear_each_other(env):
    stack, node, tenant, _ = env
    a, b = phone(node, "7001"), phone(node, "7002")
    a_offer = sdp(a.rtp.port, (0, 101), ["101 telephone-event/8000"])

    def opus_only(inv):
        pt = rtpmap_pt(inv.body, "opus/48000/2")
        ev = rtpmap_pt(inv.body, "telephone-event/48000")
        return sdp(b.rtp.port, (pt, ev), [f"{pt} opus/48000/2", f"{ev} telephone-event/48000"])

    inv, final = connect(a, "7002", b, a_offer, opus_only)
    # B is offered A's codecs first, then what the node can transcode to.
    offered = m_line(inv.body)
    opus_pt, ev_pt = rtpmap_pt(inv.body, "opus/48000/2"), rtpmap_pt(inv.body,
                                                                    "telephone-event/48000")
    assert offered[:2] == [0, 101] and {8, 9, opus_pt, ev_pt} <= set(offered)
    assert opus_pt >= 96
    # A is answered only with what it offered.
    assert m_line(final.body) == [0, 101]
    assert live_codecs(node, stack, tenant, a.dialog["call_id"]) == ("PCMU", "opus")

    pa = start_peer(take(a.rtp), sdp_media(final.body), "pcmu", 0, "pcmu", 0, 1000, 1.5,
                    events=(101, 101))
    pb = start_peer(take(b.rtp), sdp_media(inv.body), "opus", opus_pt, "opus", opus_pt, 600, 1.5,
                    events=(ev_pt, ev_pt))
    ra, rb = report(pa), report(pb)
    # Each hears the other's tone in its own codec and payload type, as one stream.
    heard(rb, opus_pt, 1000)
    heard(ra, 0, 600)
    assert set(rb["pts"]) <= {str(opus_pt), str(ev_pt)}, rb
    assert set(ra["pts"]) <= {"0", "101"}, ra
    for r, step in ((rb, 960), (ra, 160)):  # 20 ms in the receiver's clock
        assert r["ts_min_step"] == step and r["ts_max_step"] == step, r
        assert r["ssrc_changes"] == 0 and r["seq_gaps"] == 0, r
    # A's DTMF digit reaches B at B's event type, durations in 48 kHz units, one timestamp.
    for r, scale in ((rb, 6), (ra, 1 / 6)):
        evs = r["events"]
        assert len(evs) == 8, r
        assert {e["event"] for e in evs} == {5}
        assert len({e["ts"] for e in evs}) == 1
        assert [e["end"] for e in evs] == [0] * 5 + [1] * 3
        sent = [160 * min(i, 5) for i in range(1, 9)] if scale == 6 else \
            [960 * min(i, 5) for i in range(1, 9)]
        assert [e["duration"] for e in evs] == [round(d * scale) for d in sent]
    hang_up(a, b)
    row = cdr(stack, a.dialog["call_id"])
    assert (row["codec_a"], row["codec_b"]) == ("PCMU", "opus")
    a.close()
    b.close()


def test_pcma_caller_and_pcmu_callee(env):
    stack, node, tenant, _ = env
    a, b = phone(node, "7001"), phone(node, "7002")
    inv, final = connect(a, "7002", b, sdp(a.rtp.port, (8,)), lambda inv: sdp(b.rtp.port, (0,)))
    assert m_line(inv.body)[0] == 8 and 0 in m_line(inv.body)
    assert m_line(final.body) == [8]
    pa = start_peer(take(a.rtp), sdp_media(final.body), "pcma", 8, "pcma", 8, 1000, 1.5)
    pb = start_peer(take(b.rtp), sdp_media(inv.body), "pcmu", 0, "pcmu", 0, 600, 1.5)
    ra, rb = report(pa), report(pb)
    heard(rb, 0, 1000)
    heard(ra, 8, 600)
    assert set(rb["pts"]) == {"0"} and set(ra["pts"]) == {"8"}
    assert live_codecs(node, stack, tenant, a.dialog["call_id"]) == ("PCMA", "PCMU")
    hang_up(a, b)
    row = cdr(stack, a.dialog["call_id"])
    assert (row["codec_a"], row["codec_b"]) == ("PCMA", "PCMU")
    a.close()
    b.close()


def test_pcmu_caller_and_g722_gateway(env):
    stack, node, _, carrier = env
    a = phone(node, "7001")
    carrier.rtp = type(a.rtp)()  # a fresh RTP socket per call (the peer takes it over)
    inv, final = connect(a, "0301234567", carrier, sdp(a.rtp.port, (0,)),
                         lambda inv: sdp(carrier.rtp.port, (9,)))
    assert 9 in m_line(inv.body)
    assert m_line(final.body) == [0]
    pa = start_peer(take(a.rtp), sdp_media(final.body), "pcmu", 0, "pcmu", 0, 1000, 1.5)
    pc = start_peer(take(carrier.rtp), sdp_media(inv.body), "g722", 9, "g722", 9, 600, 1.5)
    ra, rc = report(pa), report(pc)
    heard(rc, 9, 1000)
    heard(ra, 0, 600)
    assert rc["ts_min_step"] == rc["ts_max_step"] == 160  # G.722's RTP clock is 8 kHz
    hang_up(a, carrier)
    row = cdr(stack, a.dialog["call_id"])
    assert (row["codec_a"], row["codec_b"]) == ("PCMU", "G722")
    a.close()


def test_codec_change_by_reinvite_keeps_one_stream(env):
    """A and B start on PCMU (nothing transcoded); B re-INVITEs offering only Opus. A's stream
    must go on as if nothing happened: same SSRC, sequence +1, timestamps +160."""
    stack, node, tenant, _ = env
    a, b = phone(node, "7001"), phone(node, "7002")
    inv, final = connect(a, "7002", b, sdp(a.rtp.port, (0,)), lambda inv: sdp(b.rtp.port, (0,)))
    assert m_line(final.body) == [0]
    b.next(want=lambda m: m.is_request and m.method == "ACK")
    to_node_a, to_node_b = sdp_media(final.body), sdp_media(inv.body)
    b_port = b.rtp.port
    pa = start_peer(take(a.rtp), to_node_a, "pcmu", 0, "pcmu", 0, 1000, 4.0)
    pb1 = start_peer(take(b.rtp), to_node_b, "pcmu", 0, "pcmu", 0, 600, 1.0)
    report(pb1)

    b.send_in_dialog("INVITE", body=sdp(b_port, (111,), ["111 opus/48000/2"]))
    reinv = a.next(timeout=5, want=lambda m: m.is_request and m.method == "INVITE")
    assert rtpmap_pt(reinv.body, "opus/48000/2") == 111 and 0 in m_line(reinv.body)
    a.respond(reinv, 200, "OK", body=sdp(a.rtp.port, (0,)))  # A only does PCMU
    ok = b.next(timeout=5, want=lambda m: not m.is_request and m.cseq()[1] == "INVITE")
    assert ok.status == 200 and m_line(ok.body) == [111]
    b.send_in_dialog("ACK", cseq=b.dialog["cseq"])
    wait_for(lambda: live_codecs(node, stack, tenant, a.dialog["call_id"]) == ("PCMU", "opus"),
             timeout=5, what="the call record to show the new codec")

    pb2 = start_peer(b_port, to_node_b, "opus", 111, "opus", 111, 600, 1.5)
    rb2, ra = report(pb2), report(pa)
    heard(rb2, 111, 1000)
    heard(ra, 0, 600)
    assert ra["pts"] == {"0": ra["audio"]}
    assert ra["ssrc_changes"] == 0 and ra["seq_gaps"] == 0, ra
    assert ra["ts_min_step"] == 160 and ra["ts_max_step"] == 160, ra
    hang_up(a, b)
    a.close()
    b.close()
