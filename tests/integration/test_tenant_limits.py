"""Tenant call limits (node/sip/gateway_limits.c, b2bua_tenant_slot): max_calls and max_cps per
tenant, shared in Redis like the gateways' limits, emergency routes exempt, and their API checks."""
import pytest

from harness import api
from test_gateway_health import Carrier, connect, hang_up
from sipphone import Phone

PASSWORD = "tenant-limits-1"


@pytest.fixture(scope="module")
def env(stack):
    node = stack.node("node1", security__ban_failures=0, media__port_min=29000,
                      media__port_max=29999)
    carriers, tenants = {}, {}
    for name, domain, limits in (("calls", "tlc.tandem.test", {"max_calls": 1}),
                                 ("cps", "tlr.tandem.test", {"max_cps": 1})):
        body = {"name": name, "domain": domain}
        body.update(limits)
        status, t = api(node, "POST", "/v1/tenants", stack.key, body)
        assert status == 201, t
        tenants[name] = t
        for ext in ("7001", "7002", "7003"):
            assert api(node, "POST", f"/v1/tenants/{t['id']}/users", stack.key,
                       {"extension": ext, "password": PASSWORD})[0] == 201
        carriers[name] = Carrier(node)
        status, gw = api(node, "POST", f"/v1/tenants/{t['id']}/gateways", stack.key,
                         {"name": "trunk", "host": "127.0.0.1", "port": carriers[name].port,
                          "ping_interval": 0})
        assert status == 201, gw
        for rname, pattern, extra in (("out", "^0[0-9]+$", {}),
                                      ("emergency", "^112$", {"emergency": True, "priority": 1})):
            body = {"name": rname, "pattern": pattern, "gateway_ids": [gw["id"]]}
            body.update(extra)
            assert api(node, "POST", f"/v1/tenants/{t['id']}/routes", stack.key, body)[0] == 201
    yield stack, node, tenants, carriers
    for c in carriers.values():
        c.close()


def caller(node, domain, ext):
    p = Phone(node.sip_port, ext, domain, PASSWORD)
    p.register()
    return p


def test_api_returns_and_validates_the_limits(env):
    stack, node, tenants, _ = env
    status, t = api(node, "GET", f"/v1/tenants/{tenants['calls']['id']}", stack.key)
    assert status == 200 and t["max_calls"] == 1 and t["max_cps"] is None
    for body in ({"max_calls": 0}, {"max_calls": "3"}):
        status, err = api(node, "POST", "/v1/tenants", stack.key,
                          dict(name="bad", domain="bad.tandem.test", **body))
        assert status == 422 and "max_calls" in str(err), err
    status, err = api(node, "PATCH", f"/v1/tenants/{tenants['cps']['id']}", stack.key,
                      {"max_cps": -1})
    assert status == 422 and "max_cps" in str(err), err


def test_max_calls_refuses_then_frees_the_slot_and_emergency_is_exempt(env):
    stack, node, tenants, carriers = env
    domain, carrier = tenants["calls"]["domain"], carriers["calls"]
    a, b = caller(node, domain, "7001"), caller(node, domain, "7002")
    a.call("0301", wait_final=False)
    connect(a, carrier)
    assert stack.redis.raw("ZCARD", f"tandem:tcalllim:{tenants['calls']['id']}").strip() == "1"
    final = b.call("0302")[-1]
    assert final.status == 503 and final.header("retry-after")
    # the emergency number still goes out while the tenant is at its limit
    b.call("112", wait_final=False)
    connect(b, carrier)
    hang_up(b, carrier)
    hang_up(a, carrier)
    assert stack.redis.raw("ZCARD", f"tandem:tcalllim:{tenants['calls']['id']}").strip() == "0"
    b.call("0303", wait_final=False)
    connect(b, carrier)
    hang_up(b, carrier)
    a.close()
    b.close()


def test_max_cps_refuses_the_second_call_within_the_second(env):
    _, node, tenants, carriers = env
    domain, carrier = tenants["cps"]["domain"], carriers["cps"]
    a, b = caller(node, domain, "7001"), caller(node, domain, "7002")
    a.call("0301", wait_final=False)
    connect(a, carrier)
    assert b.call("0302")[-1].status == 503
    hang_up(a, carrier)
    a.close()
    b.close()


def test_tandemctl_sets_tenant_limits(env):
    stack, node, _, _ = env
    from harness import tandemctl
    ctl = ["--api", node.api, "--key", stack.key]
    tid = tandemctl(*ctl, "tenant", "add", "--name", "ctl", "--domain", "tlctl.tandem.test",
                    "--max-calls", "2", "--max-cps", "1.5", "--quiet").stdout.strip()
    status, t = api(node, "GET", f"/v1/tenants/{tid}", stack.key)
    assert status == 200 and t["max_calls"] == 2 and t["max_cps"] == 1.5
    bad = tandemctl(*ctl, "tenant", "add", "--name", "bad", "--domain", "tlbad.tandem.test",
                    "--max-calls", "0", check=False)
    assert bad.returncode == 1 and "max_calls" in bad.stderr
