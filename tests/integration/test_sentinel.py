"""Redis behind Sentinel: a primary, a replica and three redis-sentinels (Debian's) on loopback.
The node finds the master through the sentinels; when the primary is killed (-9) and Sentinel
promotes the replica, the node reconnects to it by itself and REGISTER, new calls and the API
work again, with their records in the new primary. A master demoted while alive (SENTINEL
FAILOVER) is left too: its clients are dropped and the node writes only to the promoted one."""
import json
import subprocess
import time

import pytest

from harness import Redis, Sentinel, api, free_port, wait_for
from sipphone import Phone
from test_calls import audio_flows, call_and_answer

DOMAIN = "sentinel.tandem.test"
PASSWORD = "sentinel-pass-1"


def role(server):
    """"master" or "slave"; None while the server does not answer."""
    try:
        return server.raw("ROLE").split("\n")[0]
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return None


def link_up(replica):
    try:
        return "master_link_status:up" in replica.raw("INFO", "replication")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="module")
def env(stack):
    primary = stack.redis
    replica = Redis(stack.root, "redis-replica",
                    args=["--replicaof", "127.0.0.1", str(primary.port)])
    sentinels = []
    try:
        wait_for(lambda: link_up(replica), timeout=15, what="the replica to sync")
        sentinels = [Sentinel(stack.root, i, primary.port) for i in range(3)]
        # A failover needs every sentinel to know the replica (from the primary's INFO) and
        # the others (hello messages every 2 s) before the primary dies.
        wait_for(lambda: all(s.master_info().get("num-slaves") == "1"
                             and s.master_info().get("num-other-sentinels") == "2"
                             for s in sentinels), timeout=30, interval=0.2,
                 what="the sentinels to see the replica and each other")
        # The first address answers nothing: the node must go on to the next sentinel.
        listed = [f"127.0.0.1:{free_port()}"] + [f"127.0.0.1:{s.port}" for s in sentinels]
        node = stack.node("node1", redis__sentinels=",".join(listed),
                          redis__master_name="tandem", redis__timeout_ms=1000,
                          security__ban_failures=0, media__port_min=24000,
                          media__port_max=24999)
        status, tenant = api(node, "POST", "/v1/tenants", stack.key,
                             {"name": "Sentinel", "domain": DOMAIN})
        assert status == 201
        for ext in ("5001", "5002", "5003", "5004", "5005", "5006"):
            assert api(node, "POST", f"/v1/tenants/{tenant['id']}/users", stack.key,
                       {"extension": ext, "password": PASSWORD})[0] == 201
        yield stack, node, tenant, primary, replica, sentinels
    finally:
        for s in sentinels:
            s.stop()
        replica.stop()


def healthy(node):
    status, body = api(node, "GET", "/v1/health")
    return status == 200 and body["redis"] == "up"


def registered(node, stack, tenant):
    status, regs = api(node, "GET", f"/v1/tenants/{tenant['id']}/registrations", stack.key)
    assert status == 200, regs
    return {r["aor"] for r in regs}


def register_when_possible(phone, deadline):
    """REGISTERs until 200 (503 while the node has no master), bounded by deadline."""
    while time.monotonic() < deadline:
        r, _ = phone.reg.register(expires=600)
        if r.status == 200:
            phone.registered = True
            return
        assert r.status == 503, r.raw  # an outage is answered, never anything else
        time.sleep(0.1)
    raise TimeoutError(f"{phone.user} could not REGISTER in time")


def call_record(server, call_id):
    uuid = server.cli("GET", f"tandem:dlg:{call_id}")
    return json.loads(server.raw("GET", f"tandem:call:{uuid}")) if uuid else None


def test_node_finds_the_master_through_sentinel(env):
    stack, node, tenant, primary, _, _ = env
    log = node.log()
    assert f"redis sentinel names 127.0.0.1:{primary.port} as master 'tandem'" in log
    assert f"redis 127.0.0.1:{primary.port} connected" in log
    assert healthy(node)


def test_primary_killed_replica_promoted_new_calls_connect(env, capsys):
    stack, node, tenant, primary, replica, sentinels = env
    caller, callee = Phone(node.sip_port, "5001", DOMAIN, PASSWORD), \
        Phone(node.sip_port, "5002", DOMAIN, PASSWORD)
    caller.register()
    callee.register()
    call_and_answer(caller, callee, "5002")
    got_a, got_b, _, _ = audio_flows(caller, callee)
    assert len(got_a) == 20 and len(got_b) == 20
    assert call_record(primary, caller.dialog["call_id"])["state"] == "confirmed"
    wait_for(lambda: replica.cli("EXISTS", f"tandem:dlg:{caller.dialog['call_id']}")
             == "(integer) 1", timeout=5, what="the call to reach the replica")

    killed = time.monotonic()
    primary.kill()
    wait_for(lambda: role(replica) == "master", timeout=30, interval=0.05,
             what="Sentinel to promote the replica")
    promoted = time.monotonic()
    # The other sentinels learn it from the leader's hello messages, a little later.
    wait_for(lambda: all(s.master_addr() == ("127.0.0.1", replica.port) for s in sentinels),
             timeout=10, what="every sentinel to name the new primary")
    wait_for(lambda: f"redis 127.0.0.1:{replica.port} connected" in node.log(), timeout=10,
             interval=0.05, what="the node to connect to the new primary")
    reconnected = time.monotonic()

    # New phones, a new call: everything it writes must land in the new primary.
    a, b = Phone(node.sip_port, "5003", DOMAIN, PASSWORD), \
        Phone(node.sip_port, "5004", DOMAIN, PASSWORD)
    deadline = killed + 30
    register_when_possible(a, deadline)
    register_when_possible(b, deadline)
    _, responses = call_and_answer(a, b, "5004")
    assert [r.status for r in responses if r.status != 100] == [180, 200]
    got_a, got_b, _, _ = audio_flows(a, b)
    first_call = time.monotonic()
    assert len(got_b) == 20 and all(d[12:13] == b"C" for d, _ in got_b)
    assert len(got_a) == 20 and all(d[12:13] == b"E" for d, _ in got_a)
    record = call_record(replica, a.dialog["call_id"])
    assert record and record["state"] == "confirmed" and record["node"] == "node1"
    assert record["caller"] == "5003" and record["callee"] == "5004"
    assert replica.cli("EXISTS", f"tandem:reg:{DOMAIN}:5004") == "(integer) 1"

    # The API's own connections find the new primary too.
    assert {f"sip:5003@{DOMAIN}", f"sip:5004@{DOMAIN}"} <= registered(node, stack, tenant)
    assert healthy(node)
    # The call set up before the failover can still be hung up.
    assert caller.bye().status == 200
    callee.expect_bye()
    with capsys.disabled():
        print(f"\nsentinel failover: kill -9 -> replica promoted {promoted - killed:.2f} s, "
              f"node connected {reconnected - killed:.2f} s, first new call answered with "
              f"audio {first_call - killed:.2f} s")
    for p in (caller, callee, a, b):
        p.close()
    assert node.alive()


def clients(server):
    """Normal clients of server other than sentinels and this redis-cli."""
    out = server.raw("CLIENT", "LIST", "TYPE", "normal").strip().split("\n")
    return [c for c in out if c and "name=sentinel-" not in c and "cmd=client|list" not in c]


def test_master_demoted_alive_gets_no_more_writes(env, capsys):
    stack, node, tenant, primary, replica, sentinels = env
    # The killed primary comes back as a replica of the new one; then an operator moves the
    # master back with SENTINEL FAILOVER, demoting a live server under the node's feet.
    primary.args = ["--replicaof", "127.0.0.1", str(replica.port)]
    primary.start()
    wait_for(lambda: link_up(primary), timeout=15, what="the old primary to sync as a replica")
    wait_for(lambda: all(s.master_info().get("num-slaves") == "1" and
                         s.master_info().get("flags") == "master" for s in sentinels),
             timeout=30, interval=0.2, what="the sentinels to see the new replica")
    wait_for(lambda: sentinels[0].cli("SENTINEL", "FAILOVER", "tandem") == "OK", timeout=15,
             interval=0.5, what="SENTINEL FAILOVER to be accepted")
    wait_for(lambda: role(primary) == "master", timeout=30, interval=0.05,
             what="Sentinel to promote the old primary")
    promoted = time.monotonic()
    # Sentinel demotes the old master only at its next INFO (up to 10 s later); the node must
    # not wait for that: it asks the sentinels every second while connected.
    wait_for(lambda: node.log().count(f"redis 127.0.0.1:{primary.port} connected") == 2,
             timeout=5, interval=0.05, what="the node to connect to the promoted server")
    moved = time.monotonic() - promoted
    assert "redis sentinel now names" in node.log()
    wait_for(lambda: role(replica) == "slave", timeout=30, interval=0.1,
             what="Sentinel to demote the old master")
    demoted = time.monotonic() - promoted
    phone = Phone(node.sip_port, "5005", DOMAIN, PASSWORD)
    register_when_possible(phone, time.monotonic() + 10)
    assert primary.cli("EXISTS", f"tandem:reg:{DOMAIN}:5005") == "(integer) 1"
    assert f"sip:5005@{DOMAIN}" in registered(node, stack, tenant)
    # The demoted server keeps none of our connections: nothing of ours writes there.
    wait_for(lambda: not clients(replica), timeout=10, what="no node connection on the replica")
    assert healthy(node)
    with capsys.disabled():
        print(f"\nsentinel switchover: promotion -> node on the promoted server {moved:.2f} s "
              f"(old master demoted by Sentinel after {demoted:.2f} s)")
    phone.close()
