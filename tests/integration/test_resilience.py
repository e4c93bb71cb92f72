"""Shared state and store outages: two nodes over one Redis, Redis restarted under a running
node, PostgreSQL stopped and started again. Nothing may crash, hang or need a restart."""
import time

import pytest

from harness import api, wait_for
from sipclient import SipClient

DOMAIN = "res.tandem.test"
PASSWORD = "resilient-pass-1"


@pytest.fixture(scope="module")
def env(stack):
    # A one-second user cache: the outage test then exercises stale entries, the hard case.
    settings = dict(registrar__user_cache_seconds=1, security__ban_failures=0)
    node1 = stack.node("node1", **settings)
    node2 = stack.node("node2", **settings)
    status, tenant = api(node1, "POST", "/v1/tenants", stack.key, {"name": "Res", "domain": DOMAIN})
    assert status == 201
    for ext in ("2001", "2002", "2003", "2004", "2005"):
        assert api(node1, "POST", f"/v1/tenants/{tenant['id']}/users", stack.key,
                   {"extension": ext, "password": PASSWORD})[0] == 201
    return stack, node1, node2, tenant


def aors(node, stack, tenant):
    status, regs = api(node, "GET", f"/v1/tenants/{tenant['id']}/registrations", stack.key)
    assert status == 200, regs
    return {r["aor"]: r for r in regs}


def test_each_node_sees_the_others_bindings(env):
    stack, node1, node2, tenant = env
    c1 = SipClient(node1.sip_port, "2001", DOMAIN, PASSWORD)
    c2 = SipClient(node2.sip_port, "2002", DOMAIN, PASSWORD)
    assert c1.register(expires=600)[0].status == 200
    assert c2.register(expires=600)[0].status == 200
    for node in (node1, node2):
        seen = aors(node, stack, tenant)
        assert seen[f"sip:2001@{DOMAIN}"]["node"] == "node1"
        assert seen[f"sip:2002@{DOMAIN}"]["node"] == "node2"
        assert seen[f"sip:2002@{DOMAIN}"]["socket"] == f"127.0.0.1:{node2.sip_port}"


def test_challenge_from_one_node_is_answered_to_the_other(env):
    stack, node1, node2, tenant = env
    c = SipClient(node1.sip_port, "2003", DOMAIN, PASSWORD)
    headers = [f"Contact: <{c.contact()}>", "Expires: 600"]
    challenge = SipClient.challenge_params(c.request("REGISTER", headers))
    c.server = ("127.0.0.1", node2.sip_port)  # a load balancer sent the retry elsewhere
    r = c.request("REGISTER", headers + [c.authorization(challenge)])
    assert r.status == 200, r.raw
    assert aors(node1, stack, tenant)[f"sip:2003@{DOMAIN}"]["node"] == "node2"


def test_redis_restart_is_survived_without_restarting_the_node(env):
    stack, node1, _, tenant = env
    c = SipClient(node1.sip_port, "2004", DOMAIN, PASSWORD)
    assert c.register(expires=600)[0].status == 200
    stack.redis.stop()
    started = time.monotonic()
    r, _ = c.register(expires=600)
    assert r.status == 503 and r.header("retry-after")
    assert time.monotonic() - started < 3, "an outage must be answered, not waited out"
    status, body = api(node1, "GET", f"/v1/tenants/{tenant['id']}/registrations", stack.key)
    assert status == 503 and "error" in body
    stack.redis.start()
    wait_for(lambda: c.register(expires=600)[0].status == 200, timeout=10,
             what="REGISTER to work again after Redis came back")
    assert f"sip:2004@{DOMAIN}" in aors(node1, stack, tenant)
    assert node1.alive()
    assert "redis 127.0.0.1" in node1.log() and "connected" in node1.log()


def test_postgres_outage_keeps_cached_users_registering(env):
    stack, node1, _, tenant = env
    cached = SipClient(node1.sip_port, "2001", DOMAIN, PASSWORD)
    assert cached.register(expires=600)[0].status == 200
    time.sleep(1.5)  # the cache entry is now stale: it must still serve during the outage
    stack.pg.stop()
    try:
        r, _ = cached.register(expires=600)
        assert r.status == 200, r.raw
        wrong, _ = cached.register(expires=600, password="not-it")
        assert wrong.status == 401  # the stale HA1 still checks passwords
        never_seen = SipClient(node1.sip_port, "2005", DOMAIN, PASSWORD)
        r, _ = never_seen.register(expires=600)
        assert r.status == 503 and r.header("retry-after")
        status, body = api(node1, "GET", "/v1/tenants", stack.key)
        assert status == 503 and body.get("error")
        assert node1.alive()
    finally:
        stack.pg.start()
    wait_for(lambda: never_seen.register(expires=600)[0].status == 200, timeout=15,
             what="an uncached user to register once PostgreSQL is back")
    wait_for(lambda: api(node1, "GET", "/v1/tenants", stack.key)[0] == 200, timeout=15,
             what="the API to answer again")
