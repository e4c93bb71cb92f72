"""Tandem's central promise, on three corosync nodes in network namespaces: a node dies in the
middle of a hundred calls and every one of them goes on. Callers and callees are scripted phones
in the peers namespace sending 20 ms RTP continuously; node 1 carries all the calls (ten on
hold) and is killed (-9, and its cable pulled so its addresses stop answering). The successor
takes over its service address (VIP mode) and the calls: RTP resumes at both ends (the gap is
measured per call), BYE from either side completes, and each call leaves exactly one CDR,
marked as failed over. The same in re-INVITE mode, where no address moves. The figures are
printed (pytest -s) for docs/performance.md."""
import os
import statistics
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "cluster"))

from cluster_calls import (down_wall, ended_once_by, failover_times, finish,  # noqa: E402
                           follow_reinvites, hang_up_all, make_cluster, place_calls_n,
                           successor)
from failover_calls import hold, streams_for  # noqa: E402
from harness import wait_for  # noqa: E402

CALLS = int(os.environ.get("TANDEM_FAILOVER_CALLS", "100"))
HELD = CALLS // 10
TOKEN_MS = 300


@pytest.fixture(scope="module", params=["vip", "reinvite"])
def cluster(request):
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    stack, c = make_cluster(request.param, TOKEN_MS, CALLS)
    try:
        yield c
    finally:
        finish(stack, c)


def place_calls(c, node):
    """CALLS calls through node, callers on one peer address and callees on another; the first
    HELD of them put on hold."""
    calls = place_calls_n(c, node, CALLS)
    for caller, callee in calls[:HELD]:
        hold(caller, callee)
    return calls


def test_hundred_calls_survive_the_death_of_their_node(cluster):
    c = cluster
    n1 = c.node(1)
    calls = place_calls(c, n1)
    streams, pairs = streams_for(calls, max_seconds=90)
    for _, callee_stream in pairs[:HELD]:
        callee_stream.paused = True  # a held party sends nothing
    streams.start()
    time.sleep(1.5)
    for caller_stream, callee_stream in pairs:
        assert callee_stream.arrivals, "no audio reached a callee before the failure"

    # The machine dies: its cable is out first (its addresses stop answering and nothing it
    # says reaches the others), then tandemd and corosync are killed -9. Detection is corosync's
    # token timeout, not a goodbye.
    wall = time.time()
    killed = time.monotonic()
    c.net.link(1, False)
    c.kill(1)
    wait_for(lambda: successor(c, "n1"), timeout=15, what="a survivor to take over n1")
    heir = successor(c, "n1")
    if c.mode == "reinvite":
        with c.net.inside(c.net.peers_ns):
            follow_reinvites(calls, pairs, heir)
    time.sleep(3)
    streams.stop()
    end = time.monotonic()

    gaps, deaf = [], []
    for k, (caller_stream, callee_stream) in enumerate(pairs):
        # What each party hears after the failover: the callee always (its caller talks), the
        # caller unless the call is held.
        if callee_stream.received_between(end - 1.0, end) < 25:
            deaf.append((k, "callee"))
        if k >= HELD and caller_stream.received_between(end - 1.0, end) < 25:
            deaf.append((k, "caller"))
        gaps.append(callee_stream.largest_gap(killed - 1.0, end))
        if k >= HELD:
            gaps.append(caller_stream.largest_gap(killed - 1.0, end))
    detect = down_wall(heir, "n1") - wall
    times = failover_times(heir, "n1")
    print(f"\n{c.mode} failover of {CALLS} calls ({HELD} held), corosync token {TOKEN_MS} ms: "
          f"member down after {detect:.2f} s; claim {times[0]} ms, address {times[1]} ms, "
          f"calls restored {times[2]} ms after that; media gap median "
          f"{statistics.median(gaps):.3f} s, worst {max(gaps):.3f} s over {len(gaps)} streams")
    assert not deaf, f"calls without audio after the failover: {deaf}"
    label = "VIP" if c.mode == "vip" else "re-INVITE"
    assert heir.log().count(f"recovered from n1 ({label})") == CALLS

    hang_up_all(c, calls, n1.ip if c.mode == "vip" else heir.ip)
    ended_once_by(c, calls, heir)
    if c.mode == "vip":
        # Its calls over, the successor gives n1's address back.
        wait_for(lambda: f"service address {n1.ip} of n1 given back" in heir.log(), timeout=10,
                 what="the successor to give n1's address back")
