"""The same survivor takes over the same node's address twice: n1 dies under calls, its
successor serves them on n1's address and gives the address back when they end, n1 returns and
holds its address again, and then n1 dies a second time. Both times the calls go on and their
BYEs are answered from n1's address (a successor's transport on an address it held before must
answer again, not only its media)."""
import os
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from cluster_calls import (ended_once_by, finish, hang_up_all, hearing,  # noqa: E402
                           make_cluster, talking)
from harness import wait_for  # noqa: E402

CALLS = 4
# A node that comes back makes the ring re-form; a 300 ms token flaps meanwhile on a loaded
# 2-CPU machine (as in test_partition.py), which is not what this test is about.
TOKEN_MS = 1000


@pytest.fixture(scope="module")
def cluster():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    stack, c = make_cluster("vip", TOKEN_MS, CALLS)
    try:
        yield c
    finally:
        finish(stack, c)


def took(c):
    return {n.name: n.log().count("failover: took over n1") for n in c.nodes}


def die_and_survive(c):
    """Calls through n1, n1 dies, its successor carries them to their BYEs and gives n1's
    address back; returns the successor."""
    n1 = c.node(1)
    before = took(c)
    with talking(c, n1, CALLS, 60) as (calls, pairs):
        c.net.link(1, False)
        killed = c.kill(1)
        wait_for(lambda: any(took(c)[n.name] > before[n.name] for n in c.nodes if n is not n1),
                 timeout=15, what="a survivor to take over n1")
        heir = next(n for n in c.nodes if took(c)[n.name] > before[n.name])
        wait_for(lambda: time.monotonic() - killed > 2.0 and not hearing(pairs), timeout=10,
                 interval=0.2,
                 what="audio at both ends of every call after n1 died")
    given_back = heir.log().count(f"service address {n1.ip} of n1 given back")
    hang_up_all(c, calls, n1.ip)
    ended_once_by(c, calls, heir)
    wait_for(lambda: heir.log().count(f"service address {n1.ip} of n1 given back") > given_back,
             timeout=10, what="the successor to give n1's address back")
    return heir


def test_one_survivor_takes_over_one_address_twice(cluster):
    c = cluster
    n1 = c.node(1)
    first = die_and_survive(c)

    own_again = f"service address {n1.ip} is this node's again"
    c.power_on(1)
    c.wait_members(3, timeout=30)
    wait_for(lambda: own_again in n1.log(), timeout=15, what="n1 to hold its address again")

    second = die_and_survive(c)
    # The ring names the same successor for n1 over the same two survivors: this is the case.
    assert second is first, (first.name, second.name)
