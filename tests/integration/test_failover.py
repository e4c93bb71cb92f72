"""Calls survive the death of the node carrying them (DESIGN 4), on loopback: each node has its
own 127.0.0.x service address, so the successor can take a dead node's address over (VIP mode)
or re-INVITE both legs to its own (re-INVITE mode). Membership comes from Redis heartbeats
here; tests/cluster repeats this with corosync in network namespaces."""
import json
import struct
import time

import pytest

from harness import api, wait_for
from failover_calls import connect, hold, streams_for
from sipphone import Phone, sdp_media, sdp_offer
from test_dtmf import event_packets, info_body, parse as dtmf_parse
from test_gateway_health import Carrier, connect as gw_connect, hang_up as gw_hang_up
from test_transcode import heard, m_line, report, rtpmap_pt, sdp, start_peer, take

DOMAIN = "failover.tandem.test"
PASSWORD = "survive-this-1"
SETTINGS = dict(security__ban_failures=0, media__port_min=25000, media__port_max=25999,
                cdr__flush_ms=200, nat__keepalive_interval=0)


@pytest.fixture(scope="module")
def tenant(stack):
    first = stack.node("fo-a", sip__address="127.0.0.2", **SETTINGS)
    status, t = api(first, "POST", "/v1/tenants", stack.key, {"name": "Failover", "domain": DOMAIN})
    assert status == 201
    for ext in ("6001", "6002", "6003", "6004"):
        assert api(first, "POST", f"/v1/tenants/{t['id']}/users", stack.key,
                   {"extension": ext, "password": PASSWORD})[0] == 201
    return stack, first, t


def cdr_rows(stack, a_call_id):
    out = stack.pg.psql(f"SELECT node, failover, hangup_by, q850_cause FROM cdrs "
                        f"WHERE a_call_id = '{a_call_id}'")
    return [line.split("|") for line in out.splitlines() if line]


def test_vip_mode_calls_survive_kill_9(tenant):
    stack, dead, _ = tenant
    heir = stack.node("fo-b", sip__address="127.0.0.3", **SETTINGS)
    calls = [connect(dead.sip_port, "127.0.0.2", DOMAIN, PASSWORD, "6001", "6002"),
             connect(dead.sip_port, "127.0.0.2", DOMAIN, PASSWORD, "6003", "6004")]
    hold(*calls[1])  # the second call is on hold: its callee stops sending
    streams, pairs = streams_for(calls)
    pairs[1][1].paused = True
    streams.start()
    time.sleep(1.0)
    for a, b in pairs:
        assert a.arrivals or b.arrivals, "no audio before the failure"

    killed = time.monotonic()
    dead.proc.kill()  # kill -9
    dead.proc.wait()
    dead.proc = None
    wait_for(lambda: "failover: took over fo-a" in heir.log(), timeout=10,
             what="the survivor to take over fo-a's calls")
    time.sleep(1.5)
    streams.stop()
    now = time.monotonic()
    gaps = []
    for (a, b), (caller, callee) in zip(pairs, calls):
        # Both phones hear the other again after the failover (the held one only its caller).
        assert b.received_between(now - 1.0, now) > 20, "callee hears nothing after failover"
        if not b.paused:
            assert a.received_between(now - 1.0, now) > 20, "caller hears nothing after failover"
        gaps.append(b.largest_gap(killed - 0.5, now))
    print(f"media gap per call after kill -9: {[round(g, 2) for g in gaps]} s")
    assert "recovered from fo-a (VIP)" in heir.log()

    # In-dialog requests reach the dead node's address and are answered by the survivor.
    caller, callee = calls[0]
    ok = callee.bye()
    assert ok.status == 200 and ok.peer == ("127.0.0.2", dead.sip_port)
    bye = caller.expect_bye()
    assert bye.peer == ("127.0.0.2", dead.sip_port)  # from the address the caller knows
    caller2, callee2 = calls[1]
    assert caller2.bye().status == 200
    callee2.expect_bye()
    for caller, _ in calls:
        cid = caller.dialog["call_id"]
        wait_for(lambda: cdr_rows(stack, cid), timeout=5, what="the CDR")
        rows = cdr_rows(stack, cid)
        assert len(rows) == 1, rows  # written once, by the node that ended the call
        assert rows[0][0] == "fo-b" and rows[0][1] == "t", rows
    for caller, callee in calls:
        caller.close()
        callee.close()
    heir.stop()


def test_reinvite_mode_moves_both_legs(tenant):
    stack, first, _ = tenant
    alone(first)  # run alone, the module's first node (VIP mode) could be the successor
    dead = stack.node("fo-c", sip__address="127.0.0.4", **SETTINGS)
    heir = stack.node("fo-d", sip__address="127.0.0.5", cluster__failover="reinvite", **SETTINGS)
    caller, callee = connect(dead.sip_port, "127.0.0.4", DOMAIN, PASSWORD, "6001", "6002")
    cseq_before = {}
    streams, pairs = streams_for([(caller, callee)])
    streams.start()
    time.sleep(0.5)
    dead.proc.kill()
    dead.proc.wait()
    dead.proc = None
    # Each phone gets a re-INVITE from the survivor, in its own dialog, with the survivor's
    # media address; answering it moves the audio there.
    for phone, stream, role in ((caller, pairs[0][0], "caller"), (callee, pairs[0][1], "callee")):
        inv = phone.next(timeout=10, want=lambda m: m.is_request and m.method == "INVITE")
        d = phone.dialog
        assert inv.header("call-id") == d["call_id"]
        ours = d["from_"] if role == "caller" else d["to"]
        theirs = d["to"] if role == "caller" else d["from_"]
        assert inv.tag("to") == ours.split("tag=")[1].split(";")[0]  # our tag is To now
        assert inv.tag("from") == theirs.split("tag=")[1].split(";")[0]
        ip, port = sdp_media(inv.body)
        assert ip == "127.0.0.5", inv.body
        phone.respond(inv, 200, "OK", body=sdp_offer(phone.rtp.ip, phone.rtp.port))
        phone.next(want=lambda m: m.is_request and m.method == "ACK")
        stream.dest = (ip, port)
        cseq_before[role] = inv.cseq()[0]
        d["target"] = inv.contact_uri()
        phone.server = inv.peer  # the phones send in-dialog requests to the survivor now
    assert cseq_before["caller"] > 100 and cseq_before["callee"] > 1
    time.sleep(1.0)
    streams.stop()
    now = time.monotonic()
    assert pairs[0][0].received_between(now - 0.8, now) > 15
    assert pairs[0][1].received_between(now - 0.8, now) > 15
    ok = caller.bye()
    assert ok.status == 200 and ok.peer[0] == "127.0.0.5"
    callee.expect_bye()
    cid = caller.dialog["call_id"]
    wait_for(lambda: cdr_rows(stack, cid), timeout=5, what="the CDR")
    rows = cdr_rows(stack, cid)
    assert len(rows) == 1 and rows[0][0] == "fo-d" and rows[0][1] == "t", rows
    caller.close()
    callee.close()
    heir.stop()


def test_ringing_call_ends_cleanly(tenant):
    """A call still ringing when its node dies: the caller gets a final response (503, Q.850
    41) from the dead node's address, and the ringing phone gets a CANCEL for its INVITE."""
    stack, _, _ = tenant
    dead = stack.node("fo-e", sip__address="127.0.0.6", **SETTINGS)
    heir = stack.node("fo-f", sip__address="127.0.0.7", **SETTINGS)
    caller = Phone(dead.sip_port, "6003", DOMAIN, PASSWORD, host="127.0.0.6")
    callee = Phone(dead.sip_port, "6004", DOMAIN, PASSWORD, host="127.0.0.6")
    caller.register()
    callee.register()
    caller.call("6004", wait_final=False)
    inv = callee.next(want=lambda m: m.is_request and m.method == "INVITE")
    callee.respond(inv, 180, "Ringing", to_tag="ring1")
    caller.next(want=lambda m: not m.is_request and m.status == 180)
    time.sleep(0.3)  # the ringing call's record is written
    dead.proc.kill()
    dead.proc.wait()
    dead.proc = None
    final = caller.next(timeout=10, want=lambda m: not m.is_request and m.status >= 200)
    assert final.status == 503, final.raw
    assert "cause=41" in final.header("reason")
    assert final.peer == ("127.0.0.6", dead.sip_port)
    cancel = callee.next(timeout=5, want=lambda m: m.is_request and m.method == "CANCEL")
    assert cancel.header("via").split("branch=")[1].split(";")[0] == \
        inv.header("via").split("branch=")[1].split(";")[0]  # it matches the INVITE
    assert cancel.cseq()[0] == inv.cseq()[0]
    cid = caller.dialog["call_id"]
    wait_for(lambda: cdr_rows(stack, cid), timeout=5, what="the CDR")
    rows = cdr_rows(stack, cid)
    assert len(rows) == 1 and rows[0][0] == "fo-f" and rows[0][1] == "t" and rows[0][3] == "41", rows
    caller.close()
    callee.close()
    heir.stop()


def ring_owner(members, key):
    """cluster/ring.c in Python: the member with the highest FNV-1a + splitmix64 weight."""
    def weight(member, key):
        h = 14695981039346656037
        for b in member.encode() + b"\0" + key.encode():
            h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 30
        h = (h * 0xbf58476d1ce4e5b9) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 27
        h = (h * 0x94d049bb133111eb) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 31
        return h
    return max(sorted(members), key=lambda m: weight(m, key))


def test_successor_dying_too_leaves_the_calls_to_the_next(tenant):
    """Node X dies; before anyone notices, so does the node that would succeed it. The last
    node finds X's calls still unclaimed when it sees the successor go, and takes them."""
    stack, first, _ = tenant
    alone(first)
    # Names such that the doomed node, not the last one, is X's successor.
    doomed, last = next((f"fo-s{k}", f"fo-z{j}") for j in range(1, 20) for k in range(1, 20)
                        if ring_owner([f"fo-s{k}", f"fo-z{j}"], "fo-x") == f"fo-s{k}")
    x = stack.node("fo-x", sip__address="127.0.0.8", **SETTINGS)
    s = stack.node(doomed, sip__address="127.0.0.9", **SETTINGS)
    z = stack.node(last, sip__address="127.0.0.10", **SETTINGS)
    caller, callee = connect(x.sip_port, "127.0.0.8", DOMAIN, PASSWORD, "6001", "6002")
    time.sleep(0.3)  # established: its record is written (a node dying within a millisecond
    # of the answer can take the record write with it)
    for node in (x, s):  # X first, its successor 1.5 s later: before X's death is noticed
        node.proc.kill()
        node.proc.wait()
        node.proc = None
        time.sleep(1.5)
    wait_for(lambda: "recovered from fo-x (VIP)" in z.log(), timeout=15,
             what="the last node to recover the orphaned call")
    assert f"fo-x left; its successor is {doomed}" in z.log()  # it did wait for the successor
    ok = callee.bye()
    assert ok.status == 200 and ok.peer == ("127.0.0.8", x.sip_port)
    caller.expect_bye()
    cid = caller.dialog["call_id"]
    wait_for(lambda: cdr_rows(stack, cid), timeout=5, what="the CDR")
    rows = cdr_rows(stack, cid)
    assert len(rows) == 1 and rows[0][0] == last and rows[0][1] == "t", rows
    caller.close()
    callee.close()
    z.stop()


# ---- calls recovered whole: transcoding, DTMF translation, call slots (issue 5) ----

def kill9(node):
    node.proc.kill()
    node.proc.wait()
    node.proc = None


def alone(first):
    """The module's first node must not be a candidate successor (a test run alone)."""
    if first.alive():
        first.stop()
        time.sleep(3.5)


def pcmu_to_opus_call(a, b, callee):
    """a (PCMU, events 101) calls callee, b answers Opus only (events at 48 kHz) as in
    test_transcode.py; returns (B's INVITE, A's 200, B's Opus type, B's event type)."""
    a.call(callee, wait_final=False, body=sdp(a.rtp.port, (0, 101), ["101 telephone-event/8000"]))
    types = {}

    def opus_only(inv):
        pt = types["opus"] = rtpmap_pt(inv.body, "opus/48000/2")
        ev = types["ev"] = rtpmap_pt(inv.body, "telephone-event/48000")
        return sdp(b.rtp.port, (pt, ev), [f"{pt} opus/48000/2", f"{ev} telephone-event/48000"])

    inv = b.answer(sdp=opus_only)
    final = a.next(timeout=10, want=lambda m: not m.is_request and m.cseq()[1] == "INVITE"
                   and m.status >= 200)
    assert final.status == 200, final.raw
    a.confirm(final)
    b.next(want=lambda m: m.is_request and m.method == "ACK")
    return inv, final, types["opus"], types["ev"]


def tones(a_port, a_dest, b_port, b_dest, opus_pt):
    """Both phones' media for 1.5 s (codec_peer): A sends 1000 Hz in PCMU, B 600 Hz in Opus;
    each must hear the other's tone in its own codec, as one stream."""
    pa = start_peer(a_port, a_dest, "pcmu", 0, "pcmu", 0, 1000, 1.5)
    pb = start_peer(b_port, b_dest, "opus", opus_pt, "opus", opus_pt, 600, 1.5)
    ra, rb = report(pa), report(pb)
    heard(rb, opus_pt, 1000)
    heard(ra, 0, 600)
    assert set(rb["pts"]) == {str(opus_pt)} and set(ra["pts"]) == {"0"}, (ra, rb)
    for r in (ra, rb):
        assert r["ssrc_changes"] == 0, r
    return ra, rb


@pytest.mark.parametrize("mode", ["vip", "reinvite"])
def test_transcoded_call_survives_with_its_transcoder(tenant, mode):
    """PCMU caller, Opus-only callee: after kill -9 the successor transcodes as the dead node
    did, so each phone still hears the other's tone decoded from its own codec (VIP mode: on
    the same address and ports; re-INVITE mode: each leg re-offered only its own codec)."""
    stack, first, _ = tenant
    alone(first)
    ips = ("127.0.0.11", "127.0.0.12") if mode == "vip" else ("127.0.0.13", "127.0.0.14")
    extra = {"cluster__failover": "reinvite"} if mode == "reinvite" else {}
    dead = stack.node(f"fo-t{mode[0]}1", sip__address=ips[0], **SETTINGS)
    heir = stack.node(f"fo-t{mode[0]}2", sip__address=ips[1], **extra, **SETTINGS)
    a = Phone(dead.sip_port, "6001", DOMAIN, PASSWORD, host=ips[0])
    b = Phone(dead.sip_port, "6002", DOMAIN, PASSWORD, host=ips[0])
    a.register()
    b.register()
    inv, final, opus_pt, ev_pt = pcmu_to_opus_call(a, b, "6002")
    a_port, b_port = take(a.rtp), take(b.rtp)
    a_dest, b_dest = sdp_media(final.body), sdp_media(inv.body)
    if mode == "reinvite":
        tones(a_port, a_dest, b_port, b_dest, opus_pt)  # transcoded before the failure

    if mode == "vip":
        # The phones' media runs on through the failure: each phone sees one stream (the same
        # SSRC, timestamps moving with the sequence numbers), the outage only as lost packets.
        pa = start_peer(a_port, a_dest, "pcmu", 0, "pcmu", 0, 1000, 15)
        pb = start_peer(b_port, b_dest, "opus", opus_pt, "opus", opus_pt, 600, 15)
        time.sleep(1.5)
        kill9(dead)
        wait_for(lambda: f"recovered from {dead.name} (VIP)" in heir.log(), timeout=15,
                 what="the survivor to recover the transcoded call")
        ra, rb = report(pa), report(pb)
        print("across the failure:", json.dumps(ra), json.dumps(rb))
        heard(rb, opus_pt, 1000)
        heard(ra, 0, 600)
        # Not one packet in the other's codec: the adopted session relays nothing before its
        # transcoder is back (a packet passed through untranscoded at the takeover was once seen
        # under load, and it also put the next packet off its timestamp).
        assert set(rb["pts"]) == {str(opus_pt)} and set(ra["pts"]) == {"0"}, (ra, rb)
        for r in (ra, rb):
            assert r["seq_gaps"] >= 1, r  # the outage: the run went on past the recovery
            assert r["ssrc_changes"] == 0 and r["ts_off_seq"] == 0, r
    else:
        kill9(dead)
        # Each phone is re-offered its own codec only: A PCMU (+ its events), B Opus.
        for phone, port, offer in ((a, a_port, [0, 101]), (b, b_port, [opus_pt, ev_pt])):
            reinv = phone.next(timeout=15, want=lambda m: m.is_request and m.method == "INVITE")
            assert m_line(reinv.body) == offer, reinv.body
            if phone is a:
                body = sdp(port, (0, 101), ["101 telephone-event/8000"])
            else:
                body = sdp(port, (opus_pt, ev_pt),
                           [f"{opus_pt} opus/48000/2", f"{ev_pt} telephone-event/48000"])
            phone.respond(reinv, 200, "OK", body=body)
            phone.next(want=lambda m: m.is_request and m.method == "ACK")
            phone.dialog["target"] = reinv.contact_uri()
            phone.server = reinv.peer
            if phone is a:
                a_dest = sdp_media(reinv.body)
            else:
                b_dest = sdp_media(reinv.body)
        assert a_dest[0] == ips[1] and b_dest[0] == ips[1]
    assert "transcoding PCMU (leg A) <-> opus (leg B) restored" in heir.log()
    tones(a_port, a_dest, b_port, b_dest, opus_pt)  # and after it, on the successor

    assert a.bye().status == 200
    b.expect_bye()
    a.close()
    b.close()
    heir.stop()


@pytest.mark.parametrize("way", ["caller_has_events", "callee_has_events"])
def test_dtmf_translation_survives(tenant, way):
    """One party with telephone-event, the other without (either way round): after kill -9 the
    successor still turns the INFO of the one without into RFC 4733 packets to the other, and
    the other's events into INFO."""
    stack, first, _ = tenant
    alone(first)
    ips, names = (("127.0.0.15", "127.0.0.16"), ("fo-m1", "fo-m2")) if way == "caller_has_events" \
        else (("127.0.0.19", "127.0.0.20"), ("fo-n1", "fo-n2"))
    dead = stack.node(names[0], sip__address=ips[0], **SETTINGS)
    heir = stack.node(names[1], sip__address=ips[1], **SETTINGS)
    caller = Phone(dead.sip_port, "6003", DOMAIN, PASSWORD, host=ips[0])
    callee = Phone(dead.sip_port, "6004", DOMAIN, PASSWORD, host=ips[0])
    caller.register()
    callee.register()
    if way == "caller_has_events":
        caller.call("6004", wait_final=False)
        inv = callee.answer(sdp=lambda inv: sdp_offer(callee.rtp.ip, callee.rtp.port, pts=(0, 8)))
    else:  # the node offers the callee telephone-event 101 (free in the caller's offer)
        caller.call("6004", wait_final=False,
                    body=sdp_offer(caller.rtp.ip, caller.rtp.port, pts=(0, 8)))
        inv = callee.answer()
    final = caller.next(want=lambda m: not m.is_request and m.cseq()[1] == "INVITE"
                        and m.status >= 200)
    assert final.status == 200
    caller.confirm(final)
    callee.next(want=lambda m: m.is_request and m.method == "ACK")
    time.sleep(0.3)  # the answered call's record is written
    kill9(dead)
    wait_for(lambda: f"recovered from {names[0]} (VIP)" in heir.log(), timeout=15,
             what="the survivor to recover the call")
    leg = "a" if way == "caller_has_events" else "b"
    assert f"DTMF translation (leg {leg}, telephone-event 101) restored" in heir.log()

    # The INFO of the party without events, answered by the successor, reaches the other
    # party as RFC 4733 at its type.
    has, lacks = (caller, callee) if way == "caller_has_events" else (callee, caller)
    to_has, to_lacks = (sdp_media(final.body), sdp_media(inv.body)) if has is caller \
        else (sdp_media(inv.body), sdp_media(final.body))
    lacks.rtp.send(to_lacks, count=5, tag=b"E")
    assert len(has.rtp.receive(seconds=3, want=5)) == 5
    lacks.send_in_dialog("INFO", body="Signal=7\r\nDuration=120\r\n",
                         content_type="application/dtmf-relay")
    cseq = lacks.dialog["cseq"]
    ok = lacks.next(want=lambda m: not m.is_request and m.cseq() == (cseq, "INFO"))
    assert ok.status == 200 and ok.peer == (ips[0], dead.sip_port)
    events = dtmf_parse(has.rtp.receive(seconds=2, want=5))
    assert [e["pt"] for e in events] == [101] * 5
    assert [struct.unpack("!BBH", e["payload"][:4])[0] for e in events] == [7] * 5
    # The events of the party with them reach the other as INFO.
    event_packets(has.rtp, to_has, 5, 1280)
    info = lacks.next(want=lambda m: m.is_request and m.method == "INFO")
    lacks.respond(info, 200, "OK")
    assert info_body(info)["Signal"] == "5" and info_body(info)["Duration"] == "160"

    assert caller.bye().status == 200
    callee.expect_bye()
    caller.close()
    callee.close()
    heir.stop()


def test_recovered_call_keeps_its_gateway_and_tenant_slots(tenant):
    """A tenant and its gateway both at max_calls 1, slots leased for 3 s: the successor renews
    the recovered call's slots, so after several leases a second call is still refused; the
    recovered call's BYE frees them and a new call goes out."""
    stack, first, _ = tenant
    alone(first)
    lease = dict(calls__slot_lease=3, **SETTINGS)
    dead = stack.node("fo-g1", sip__address="127.0.0.17", **lease)
    heir = stack.node("fo-g2", sip__address="127.0.0.18", **lease)
    status, t = api(heir, "POST", "/v1/tenants", stack.key,
                    {"name": "Failover GW", "domain": "fogw.tandem.test", "max_calls": 1})
    assert status == 201, t
    for ext in ("6101", "6102"):
        assert api(heir, "POST", f"/v1/tenants/{t['id']}/users", stack.key,
                   {"extension": ext, "password": PASSWORD})[0] == 201
    carrier = Carrier(heir)
    status, gw = api(heir, "POST", f"/v1/tenants/{t['id']}/gateways", stack.key,
                     {"name": "trunk", "host": "127.0.0.1", "port": carrier.port,
                      "ping_interval": 0, "max_calls": 1})
    assert status == 201, gw
    assert api(heir, "POST", f"/v1/tenants/{t['id']}/routes", stack.key,
               {"name": "out", "pattern": "^0[0-9]+$", "gateway_ids": [gw["id"]]})[0] == 201
    keys = (f"tandem:gwcalls:{gw['id']}", f"tandem:tcalllim:{t['id']}")

    def held():
        """The unexpired slots of each key."""
        now_ms = int(time.time() * 1000)
        out = []
        for k in keys:
            flat = stack.redis.raw("ZRANGE", k, "0", "-1", "WITHSCORES").split()
            out.append([m for m, s in zip(flat[::2], flat[1::2]) if float(s) > now_ms])
        return out

    a = Phone(dead.sip_port, "6101", "fogw.tandem.test", PASSWORD, host="127.0.0.17")
    a.register()
    time.sleep(1.5)  # both nodes have loaded the new gateway (read once a second)
    a.call("0301", wait_final=False)
    gw_connect(a, carrier)
    time.sleep(0.3)  # the answered call's record is written
    assert [len(h) for h in held()] == [1, 1]
    kill9(dead)
    wait_for(lambda: "recovered from fo-g1 (VIP)" in heir.log(), timeout=15,
             what="the survivor to recover the gateway call")
    time.sleep(3 * 3 + 1)  # three leases: slots only the dead node renewed would have lapsed
    assert [len(h) for h in held()] == [1, 1]
    b = Phone(heir.sip_port, "6102", "fogw.tandem.test", PASSWORD, host="127.0.0.18")
    b.register()
    assert b.call("0302")[-1].status == 503  # the recovered call still counts
    assert a.bye().status == 200  # to the dead node's address, answered by the successor
    carrier.expect_bye()
    wait_for(lambda: held() == [[], []], timeout=5, what="the recovered call's slots released")
    b.call("0303", wait_final=False)
    gw_connect(b, carrier)
    gw_hang_up(b, carrier)
    carrier.close()
    a.close()
    b.close()
    heir.stop()
