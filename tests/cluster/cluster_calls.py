"""Calls on a three-node cluster in network namespaces, for the tests that take a node away
(death, partition): the cluster, phones connected through a node, and what happened after."""
import contextlib
import datetime
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "cluster"))

import netns  # noqa: E402
from failover_calls import connect, streams_for  # noqa: E402
from harness import Stack, wait_for  # noqa: E402
from sipphone import sdp_media, sdp_offer  # noqa: E402

DOMAIN = "failover.cluster.test"
PASSWORD = "survive-kill-9"


def make_cluster(mode, token_ms, calls, settings=None):
    """Three nodes in failover mode `mode` (vip|reinvite) with corosync's token at token_ms, a
    tenant and 2 * calls users (7000...); settings add to or override the nodes' config."""
    stack = Stack()
    c = netns.Cluster(3, stack=stack, token_ms=token_ms,
                      settings={"security.ban_failures": 0, "nat.keepalive_interval": 0,
                                "cluster.failover": mode, "cluster.vip_interface": "eth0",
                                "media.port_min": 30000, "media.port_max": 31999,
                                "cdr.flush_ms": 200, "security.rate_limit": 0,
                                **(settings or {})})
    c.start()
    status, t = c.api(1, "POST", "/v1/tenants", body={"name": "Failover", "domain": DOMAIN})
    assert status == 201, t
    for k in range(2 * calls):
        status, body = c.api(1, "POST", f"/v1/tenants/{t['id']}/users",
                             body={"extension": str(7000 + k), "password": PASSWORD})
        assert status == 201, body
    c.mode = mode
    return stack, c


def finish(stack, c):
    codes = c.close()
    logs = getattr(c, "final_logs", {})
    stack.close()
    bad = {name: rc for name, rc in codes.items() if rc not in (0, None)}
    assert not bad, f"nodes exited badly: {bad}\n" + "\n".join(logs.get(n, "") for n in bad)


def place_calls_n(c, node, n):
    net = c.net
    calls = []
    with net.inside(net.peers_ns):
        for k in range(n):
            calls.append(connect(5060, node.ip, DOMAIN, PASSWORD, str(7000 + 2 * k),
                                 str(7001 + 2 * k), source=net.peer_ips[0],
                                 callee_source=net.peer_ips[1]))
    return calls


def hearing(pairs, seconds=1.0):
    """Calls (index, who) that received less than half their 20 ms packets in the last
    `seconds`."""
    now = time.monotonic()
    want = int(seconds / 0.02) // 2
    deaf = []
    for k, (caller_stream, callee_stream) in enumerate(pairs):
        if callee_stream.received_between(now - seconds, now) < want:
            deaf.append((k, "callee"))
        if caller_stream.received_between(now - seconds, now) < want:
            deaf.append((k, "caller"))
    return deaf


@contextlib.contextmanager
def talking(c, node, n, max_seconds):
    """n calls through node with 20 ms RTP from every phone for at most max_seconds; yields
    (calls, pairs) once every party hears the other, and stops the streams on the way out."""
    calls = place_calls_n(c, node, n)
    streams, pairs = streams_for(calls, max_seconds=max_seconds)
    streams.start()
    try:
        time.sleep(1.0)
        assert not hearing(pairs), "no audio before the fault"
        yield calls, pairs
    finally:
        streams.stop()


def successor(c, dead):
    for n in c.nodes:
        if n.alive() and f"failover: took over {dead}" in n.log():
            return n
    return None


def hang_up_all(c, calls, via):
    """Half the calls hung up by the caller, half by the callee; each BYE answered 200 by the
    node behind the address the phones know, the other phone receiving the BYE."""
    for k, (caller, callee) in enumerate(calls):
        first, second = (caller, callee) if k % 2 == 0 else (callee, caller)
        ok = first.bye()
        assert ok.status == 200, ok.raw
        assert ok.peer[0] == via, ok.peer
        second.expect_bye()


def cdrs(c, calls):
    ids = ",".join(f"'{caller.dialog['call_id']}'" for caller, _ in calls)
    out = c.stack.pg.psql(f"SELECT a_call_id, node, failover FROM cdrs WHERE a_call_id IN ({ids})")
    return [line.split("|") for line in out.splitlines() if line]


def follow_reinvites(calls, pairs, heir):
    """re-INVITE mode: every phone gets a re-INVITE from the successor in its own dialog (its
    own tag in To, CSeq above what it saw) moving the media to the successor's address; each
    answers 200, sends its RTP there from now on, and its in-dialog requests too."""
    for (caller, callee), streams in zip(calls, pairs):
        for phone, stream, role in ((caller, streams[0], "caller"), (callee, streams[1], "callee")):
            inv = phone.next(timeout=10, want=lambda m: m.is_request and m.method == "INVITE")
            d = phone.dialog
            assert inv.header("call-id") == d["call_id"]
            ours = d["from_"] if role == "caller" else d["to"]
            assert inv.tag("to") == ours.split("tag=")[1].split(";")[0], inv.raw
            ip, port = sdp_media(inv.body)
            assert ip == heir.ip, inv.body
            phone.respond(inv, 200, "OK", body=sdp_offer(phone.rtp.ip, phone.rtp.port))
            stream.dest = (ip, port)
            d["target"] = inv.contact_uri()
            phone.server = inv.peer
    for caller, callee in calls:
        for phone in (caller, callee):
            phone.next(timeout=10, want=lambda m: m.is_request and m.method == "ACK")


def ended_once_by(c, calls, heir):
    """Each call left exactly one CDR, written by heir and marked as failed over; the phones are
    closed without unREGISTER (the cluster goes away with the test)."""
    wait_for(lambda: len(cdrs(c, calls)) >= len(calls), timeout=10, what="every CDR")
    time.sleep(0.5)  # a second CDR would come now
    rows = cdrs(c, calls)
    assert len(rows) == len(calls), f"{len(rows)} CDRs for {len(calls)} calls"
    assert {r[1] for r in rows} == {heir.name} and {r[2] for r in rows} == {"t"}, rows[:3]
    for caller, callee in calls:
        for phone in (caller, callee):
            phone.registered = False
            phone.close()


def failover_times(node, dead):
    """(claim, address, restored) in ms after the member left, from the successor's log."""
    m = re.search(rf"took over {dead} .*?claim (\d+) ms, address (\d+) ms, calls restored (\d+) ms",
                  node.log())
    return tuple(int(x) for x in m.groups()) if m else None


def down_wall(node, dead):
    """When (wall clock) node's log says member dead left."""
    m = re.findall(rf"(?m)^(\S+)Z \S+ WARN \[-\] membership: member {dead} \(nodeid", node.log())
    return datetime.datetime.fromisoformat(m[-1]).replace(
        tzinfo=datetime.timezone.utc).timestamp() if m else None
