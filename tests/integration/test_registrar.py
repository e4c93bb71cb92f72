"""The registrar against real PostgreSQL and Redis: sipsak and a scripted UA register, and the
bindings are checked where an operator would look: in Redis and in the REST API."""
import json
import time

import pytest

from harness import api, wait_for
from peers import in_hosts_namespace, sipsak_register_cmd
from sipclient import SipClient

DOMAIN = "reg.tandem.test"
PASSWORD = "correct-horse-1"


@pytest.fixture(scope="module")
def env(stack):
    node = stack.node("node1", registrar__min_expires=2, registrar__max_expires=3600,
                      registrar__default_expires=600, security__ban_failures=0)
    status, tenant = api(node, "POST", "/v1/tenants", stack.key, {"name": "Reg", "domain": DOMAIN})
    assert status == 201, tenant
    for ext in ("1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008"):
        status, body = api(node, "POST", f"/v1/tenants/{tenant['id']}/users", stack.key,
                           {"extension": ext, "password": PASSWORD})
        assert status == 201, body
    return stack, node, tenant


def bindings(stack, user):
    raw = stack.redis.raw("HGETALL", f"tandem:reg:{DOMAIN}:{user}").split("\n")
    return {raw[i]: json.loads(raw[i + 1]) for i in range(0, len(raw) - 1, 2) if raw[i]}


def api_regs(node, stack, tenant):
    status, regs = api(node, "GET", f"/v1/tenants/{tenant['id']}/registrations", stack.key)
    assert status == 200, regs
    return regs


def test_options_answers_with_capabilities(env):
    stack, node, _ = env
    c = SipClient(node.sip_port, "1001", DOMAIN, PASSWORD)
    r = c.request("OPTIONS", ["Accept: application/sdp"], uri=f"sip:{DOMAIN}")
    assert r.status == 200
    assert "REGISTER" in r.header("allow") and "OPTIONS" in r.header("allow")
    assert r.header("supported") is not None and r.header("accept") == "application/sdp"


@pytest.mark.parametrize("method", ["BYE", "INFO", "UPDATE", "PRACK"])
def test_in_dialog_method_outside_any_dialog_gets_481(env, method):
    """A BYE with no To tag (a UA giving up before any answer) matches no dialog: 481, not 405
    (RFC 3261 15.1.2)."""
    stack, node, _ = env
    c = SipClient(node.sip_port, "1001", DOMAIN, PASSWORD)
    r = c.request(method, [], uri=f"sip:1002@{DOMAIN}")
    assert r.status == 481, r.raw
    c.close()


def test_sipsak_registers_with_digest(env):
    stack, node, tenant = env
    r = in_hosts_namespace([DOMAIN], sipsak_register_cmd(node.sip_port, "1001", DOMAIN, PASSWORD,
                                                         contact_port=7001, expires=300))
    assert r.returncode == 0, r.stdout + r.stderr
    b = bindings(stack, "1001")
    assert list(b) == ["sip:1001@127.0.0.1:7001"]
    binding = b["sip:1001@127.0.0.1:7001"]
    assert binding["transport"] == "udp" and binding["node"] == "node1"
    assert binding["socket"] == f"127.0.0.1:{node.sip_port}"
    assert binding["user_agent"].startswith("sipsak")
    assert 295 <= binding["expires_at"] - time.time() <= 300
    regs = [x for x in api_regs(node, stack, tenant) if x["aor"] == f"sip:1001@{DOMAIN}"]
    assert [x["contact"] for x in regs] == ["sip:1001@127.0.0.1:7001"]
    assert 290 <= regs[0]["expires"] <= 300


def test_sipsak_registers_over_tcp(env):
    stack, node, _ = env
    r = in_hosts_namespace([DOMAIN], sipsak_register_cmd(node.sip_port, "1008", DOMAIN, PASSWORD,
                                                         contact_port=7008, transport="tcp"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert bindings(stack, "1008")["sip:1008@127.0.0.1:7008"]["transport"] == "tcp"


def test_wrong_password_gets_401_and_no_binding(env):
    stack, node, _ = env
    c = SipClient(node.sip_port, "1002", DOMAIN, "not-the-password")
    r, _ = c.register()
    assert r.status == 401
    assert 'realm="reg.tandem.test"' in r.header("www-authenticate")
    assert bindings(stack, "1002") == {}
    assert "auth failure: src=127.0.0.1" in node.log() and "user=1002" in node.log()


def test_unknown_user_is_challenged_like_a_wrong_password(env):
    _, node, _ = env
    c = SipClient(node.sip_port, "9999", DOMAIN, PASSWORD)
    r, _ = c.register()
    assert r.status == 401
    assert "user=9999 domain=reg.tandem.test reason=unknown-user" in node.log()


def test_several_contacts_with_q_values_and_the_200_lists_them_all(env):
    stack, node, _ = env
    c = SipClient(node.sip_port, "1003", DOMAIN, PASSWORD)
    r, _ = c.register(contacts=[f"<{c.contact('a')}>;q=0.9", f"<{c.contact('b')}>;q=0.1;expires=120"],
                      expires=900)
    assert r.status == 200, r.raw
    listed = dict(r.contacts())
    assert set(listed) == {c.contact("a"), c.contact("b")}
    assert listed[c.contact("a")]["expires"] in ("900", "899")
    assert listed[c.contact("b")]["expires"] in ("120", "119")
    assert listed[c.contact("a")]["q"] == "0.9"
    stored = bindings(stack, "1003")
    assert stored[c.contact("b")]["q"] == "0.1"
    # A refresh of one contact keeps the other, and the 200 still lists both.
    r, _ = c.register(contacts=[f"<{c.contact('a')}>"], expires=600)
    assert r.status == 200
    assert set(dict(r.contacts())) == {c.contact("a"), c.contact("b")}


def test_interval_too_brief_gets_423_with_min_expires(env):
    stack, node, _ = env
    c = SipClient(node.sip_port, "1004", DOMAIN, PASSWORD)
    r, _ = c.register(expires=1)
    assert r.status == 423
    assert r.header("min-expires") == "2"
    assert bindings(stack, "1004") == {}


def test_expiry_above_maximum_is_cut(env):
    _, node, _ = env
    c = SipClient(node.sip_port, "1004", DOMAIN, PASSWORD)
    r, _ = c.register(expires=99999)
    assert r.status == 200
    assert dict(r.contacts())[c.contact()]["expires"] in ("3600", "3599")


def test_binding_expires_and_disappears(env):
    stack, node, tenant = env
    c = SipClient(node.sip_port, "1005", DOMAIN, PASSWORD)
    r, _ = c.register(expires=2)
    assert r.status == 200
    assert any(x["aor"] == f"sip:1005@{DOMAIN}" for x in api_regs(node, stack, tenant))
    wait_for(lambda: not any(x["aor"] == f"sip:1005@{DOMAIN}"
                             for x in api_regs(node, stack, tenant)), timeout=6,
             what="the binding to expire from the API")
    wait_for(lambda: stack.redis.cli("EXISTS", f"tandem:reg:{DOMAIN}:1005") == "(integer) 0",
             timeout=6, what="the AoR key to expire in Redis")


def test_wildcard_removes_every_binding(env):
    stack, node, _ = env
    c = SipClient(node.sip_port, "1006", DOMAIN, PASSWORD)
    r, _ = c.register(contacts=[f"<{c.contact('x')}>", f"<{c.contact('y')}>"], expires=600)
    assert r.status == 200 and len(bindings(stack, "1006")) == 2
    r, _ = c.register(contacts=["*"], expires=0)
    assert r.status == 200, r.raw
    assert r.contacts() == []
    assert bindings(stack, "1006") == {}


def test_wildcard_without_expires_zero_is_refused(env):
    _, node, _ = env
    c = SipClient(node.sip_port, "1006", DOMAIN, PASSWORD)
    r, _ = c.register(contacts=["*"], expires=60)
    assert r.status == 400


def test_replayed_credentials_are_refused(env):
    stack, node, _ = env
    c = SipClient(node.sip_port, "1007", DOMAIN, PASSWORD)
    headers = [f"Contact: <{c.contact()}>", "Expires: 600"]
    first = c.request("REGISTER", headers)
    auth = c.authorization(SipClient.challenge_params(first), nc=1)
    assert c.request("REGISTER", headers + [auth]).status == 200
    # The same Authorization (same nonce, same nc) again: a replay.
    replay = c.request("REGISTER", headers + [auth])
    assert replay.status == 401
    assert "reason=replayed-nonce" in node.log()
    # The same nonce with a higher nonce-count is a legitimate reuse.
    auth2 = c.authorization(SipClient.challenge_params(first), nc=2)
    assert c.request("REGISTER", headers + [auth2]).status == 200


def test_out_of_order_cseq_is_refused(env):
    stack, node, _ = env
    c = SipClient(node.sip_port, "1007", DOMAIN, PASSWORD)
    c.cseq = 100
    r, _ = c.register(expires=600)
    assert r.status == 200
    assert bindings(stack, "1007")[c.contact()]["cseq"] == 102
    c.cseq = 50  # same Call-ID, lower CSeq than the stored binding
    r, _ = c.register(expires=600)
    assert r.status == 500
    assert bindings(stack, "1007")[c.contact()]["cseq"] == 102


def test_path_is_stored_and_returned(env):
    stack, node, _ = env
    c = SipClient(node.sip_port, "1002", DOMAIN, PASSWORD)
    r, _ = c.register(expires=600, extra=["Path: <sip:edge.example.test;lr>", "Supported: path"])
    assert r.status == 200, r.raw
    assert "edge.example.test" in (r.header("path") or "")
    assert bindings(stack, "1002")[c.contact()]["path"] == ["<sip:edge.example.test;lr>"]


def test_password_change_through_the_api_applies_at_once(env):
    stack, node, tenant = env
    status, users = api(node, "GET", f"/v1/tenants/{tenant['id']}/users", stack.key)
    uid = next(u["id"] for u in users if u["extension"] == "1004")
    c = SipClient(node.sip_port, "1004", DOMAIN, PASSWORD)
    assert c.register(expires=600)[0].status == 200  # cached now
    status, _ = api(node, "PATCH", f"/v1/tenants/{tenant['id']}/users/{uid}", stack.key,
                    {"password": "a-brand-new-pass"})
    assert status == 200
    # LISTEN/NOTIFY drops the cached HA1: the old password stops working.
    wait_for(lambda: c.register(expires=600)[0].status == 401, timeout=5,
             what="the old password to be refused")
    assert c.register(expires=600, password="a-brand-new-pass")[0].status == 200


def test_thousand_users_register_with_sipsak(env):
    stack, node, tenant = env
    stack.pg.psql(
        "INSERT INTO users (tenant_id, extension, ha1) SELECT "
        f"'{tenant['id']}', 'load' || g, md5('load' || g || ':{DOMAIN}:{PASSWORD}') "
        "FROM generate_series(0, 999) g")
    script = (f"seq 0 999 | xargs -P 8 -I N " +
              sipsak_register_cmd(node.sip_port, "loadN", DOMAIN, PASSWORD, contact_port=20000,
                                  expires=600).replace("127.0.0.1:20000", "127.0.0.1:2N"))
    r = in_hosts_namespace([DOMAIN], script, timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert int(stack.redis.cli("ZCARD", f"tandem:regidx:{DOMAIN}").split()[-1]) >= 1000
    for n in (0, 1, 499, 999):
        assert list(bindings(stack, f"load{n}")) == [f"sip:load{n}@127.0.0.1:2{n}"]
    regs = api_regs(node, stack, tenant)
    load = {x["aor"] for x in regs if x["aor"].startswith("sip:load")}
    assert load == {f"sip:load{n}@{DOMAIN}" for n in range(1000)}
