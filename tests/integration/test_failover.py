"""Calls survive the death of the node carrying them (DESIGN 4), on loopback: each node has its
own 127.0.0.x service address, so the successor can take a dead node's address over (VIP mode)
or re-INVITE both legs to its own (re-INVITE mode). Membership comes from Redis heartbeats
here; tests/cluster repeats this with corosync in network namespaces."""
import time

import pytest

from harness import api, wait_for
from failover_calls import connect, hold, streams_for
from sipphone import Phone, sdp_media, sdp_offer

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
    stack, _, _ = tenant
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
    if first.alive():  # run alone: the module's first node would be a candidate successor
        first.stop()
        time.sleep(3.5)
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
