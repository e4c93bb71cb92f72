"""Media quality end to end: a call whose caller loses 10 % of its RTP on the way and whose
callee is clean leaves a CDR with both codecs, per-leg packet counts equal to what was sent,
the lossy leg's loss near 10 % and its MOS below the clean leg's, and the round-trip time
the relay measured from an RTCP SR/RR exchange passing through it."""
import json
import time

import pytest

from harness import api, wait_for
from sipphone import Phone, sdp_media

DOMAIN = "quality.tandem.test"
PASSWORD = "loud-and-clear-1"


@pytest.fixture(scope="module")
def env(stack):
    node = stack.node("node1", security__ban_failures=0, media__port_min=35000,
                      media__port_max=35999, cdr__flush_ms=200)
    status, tenant = api(node, "POST", "/v1/tenants", stack.key,
                         {"name": "Quality", "domain": DOMAIN})
    assert status == 201
    for ext in ("6001", "6002"):
        assert api(node, "POST", f"/v1/tenants/{tenant['id']}/users", stack.key,
                   {"extension": ext, "password": PASSWORD})[0] == 201
    caller = Phone(node.sip_port, "6001", DOMAIN, PASSWORD)
    callee = Phone(node.sip_port, "6002", DOMAIN, PASSWORD)
    caller.register()
    callee.register()
    yield {"stack": stack, "node": node, "caller": caller, "callee": callee}
    caller.close()
    callee.close()


def answer(caller, callee):
    """Caller calls, callee answers; returns where each phone sends its RTP (the relay)."""
    caller.call("6002", wait_final=False)
    invite = callee.answer()
    final = caller.next(want=lambda m: not m.is_request and m.status >= 200)
    assert final.status == 200
    caller.confirm(final)
    callee.next(want=lambda m: m.is_request and m.method == "ACK")
    return sdp_media(final.body), sdp_media(invite.body)


def cdr(stack, call_id):
    out = stack.pg.psql(f"SELECT row_to_json(c) FROM cdrs c WHERE a_call_id = '{call_id}'")
    return json.loads(out) if out else None


def test_lossy_leg_shows_in_the_cdr(env):
    stack, caller, callee = env["stack"], env["caller"], env["callee"]
    to_a, to_b = answer(caller, callee)
    # 3 s of 20 ms audio both ways (below the relay's 5 s report interval, so the counts
    # below hold no generated RTCP); every tenth caller packet is "lost" before the relay.
    sent_a = sent_b = 0
    start = time.monotonic()
    for i in range(150):
        sent_a += caller.rtp.send_packet(to_a, lost=i % 10 == 5)
        sent_b += callee.rtp.send_packet(to_b, tag=b"B")
        time.sleep(max(0, start + (i + 1) * 0.02 - time.monotonic()))
    assert sent_a == 135 and sent_b == 150
    # RTCP both ways: the callee's SR goes through to the caller's side; the caller reports
    # on it 150 ms later claiming 50 ms of its own delay, so the relay sees ~100 ms round trip.
    lsr = callee.rtp.send_sr((to_b[0], to_b[1] + 1))
    time.sleep(0.15)
    caller.rtp.send_rr((to_a[0], to_a[1] + 1), callee.rtp.ssrc, ext_seq=callee.rtp.seq,
                       lsr=lsr, dlsr=0.05)
    time.sleep(0.2)  # let the relay finish its batches before the call's statistics are taken
    assert caller.bye().status == 200
    callee.expect_bye()

    row = wait_for(lambda: cdr(stack, caller.dialog["call_id"]), timeout=15, what="the CDR")
    assert row["codec_a"] == "PCMU" and row["codec_b"] == "PCMU"
    a, b = row["media_a"], row["media_b"]
    # Counts: every datagram each phone sent (RTP + RTCP), and the other's relayed to it.
    assert a["packets_in"] == sent_a + 1 and b["packets_in"] == sent_b + 1, (a, b)
    assert a["packets_out"] == sent_b + 1 and b["packets_out"] == sent_a + 1, (a, b)
    assert a["dropped"] == 0 and b["dropped"] == 0
    assert a["lost"] == 15 and b["lost"] == 0
    assert 5 <= a["loss_pct"] <= 15 and b["loss_pct"] == 0
    assert a["mos"] < b["mos"] - 0.3 and b["mos"] > 4.0, (a, b)
    assert a["payload_type"] == 0 and b["payload_type"] == 0
    assert a["rtcp_packets_in"] == 1 and b["rtcp_packets_in"] == 1
    assert 50 <= a["rtt_ms"] <= 400 and b["rtt_ms"] is None, (a, b)
    assert 0 <= a["jitter_ms"] < 20 and 0 <= b["jitter_ms"] < 20
