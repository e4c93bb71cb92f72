"""Calls through the tenant's gateways (SIP trunks played by scripted UAs on loopback):
routes with number rewriting, failover on timeout and on failover statuses but not on busy,
digest answers to a carrier's challenge, caller-id headers, and DIDs from a gateway's address."""
import re
import socket
import time

import pytest

from harness import api, live_call
from sipclient import md5
from sipphone import Phone, sdp_media

DOMAIN = "gw.tandem.test"
PASSWORD = "trunk-calls-1"


class Carrier(Phone):
    """A carrier's SIP side: never registers, answers what the node sends it."""

    def __init__(self, node, source="127.0.0.1"):
        super().__init__(node.sip_port, "carrier", "carrier.example", "unused", source=source)


@pytest.fixture(scope="module")
def env(stack):
    node = stack.node("node1", security__ban_failures=0, media__port_min=34000,
                      media__port_max=34999)
    status, tenant = api(node, "POST", "/v1/tenants", stack.key, {"name": "Gw", "domain": DOMAIN})
    assert status == 201
    for ext in ("5001", "5002"):
        assert api(node, "POST", f"/v1/tenants/{tenant['id']}/users", stack.key,
                   {"extension": ext, "password": PASSWORD})[0] == 201
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a gateway that never answers
    silent.bind(("127.0.0.1", 0))
    carriers = {name: Carrier(node) for name in ("good", "failing", "busy", "auth")}
    inbound = Carrier(node, source="127.0.0.77")
    t = tenant["id"]

    def gateway(name, port, **extra):
        body = {"name": name, "host": "127.0.0.1", "port": port, "originate_timeout_ms": 800}
        body.update(extra)
        status, gw = api(node, "POST", f"/v1/tenants/{t}/gateways", stack.key, body)
        assert status == 201, gw
        return gw["id"]

    gws = {
        "silent": gateway("silent", silent.getsockname()[1]),
        "good": gateway("good", carriers["good"].port, caller_id_mode="pai"),
        "failing": gateway("failing", carriers["failing"].port),
        "busy": gateway("busy", carriers["busy"].port),
        "auth": gateway("auth", carriers["auth"].port, username="trunkuser",
                        password="trunk-secret", caller_id_mode="rpid"),
        "inbound": gateway("inbound", 5060, acl_cidrs=["127.0.0.77/32"]),
    }

    def route(name, pattern, gateways, priority=100, **extra):
        body = {"name": name, "pattern": pattern, "gateway_ids": [gws[g] for g in gateways],
                "priority": priority}
        body.update(extra)
        status, r = api(node, "POST", f"/v1/tenants/{t}/routes", stack.key, body)
        assert status == 201, r

    route("national", "^0[1-9][0-9]+$", ["silent", "good"], strip_digits=1, prepend="+49")
    route("failover", "^9[0-9]+$", ["failing", "good"])
    route("busy", "^8[0-9]+$", ["busy", "good"])
    route("trunk-auth", "^7[0-9]+$", ["auth"])
    status, did = api(node, "POST", f"/v1/tenants/{t}/dids", stack.key,
                      {"number": "+4930999", "target": "5002"})
    assert status == 201, did
    yield stack, node, tenant, carriers, inbound
    silent.close()
    for c in list(carriers.values()) + [inbound]:
        c.close()


def caller(node):
    p = Phone(node.sip_port, "5001", DOMAIN, PASSWORD)
    p.register()
    return p


def wait_final(phone):
    responses = []
    while not responses or responses[-1].status < 200:
        responses.append(phone.next(timeout=10, want=lambda m: not m.is_request and
                                    m.header("call-id") == phone.dialog["call_id"]))
    return responses


def test_route_rewrites_the_number_and_fails_over_after_a_silent_gateway(env):
    stack, node, tenant, carriers, _ = env
    good = carriers["good"]
    a = caller(node)
    started = time.monotonic()
    a.call("0301234567", wait_final=False)
    inv = good.answer()
    waited = time.monotonic() - started
    assert 0.6 < waited < 5, "the silent gateway should hold the call for its originate timeout"
    assert inv.uri.startswith(f"sip:+49301234567@127.0.0.1:{good.port}")
    assert inv.header("p-asserted-identity") == f"<sip:5001@{DOMAIN}>"
    assert sdp_media(inv.body)[0] == "127.0.0.1"
    responses = wait_final(a)
    assert responses[-1].status == 200
    a.confirm(responses[-1])
    good.next(want=lambda m: m.is_request and m.method == "ACK")
    # Audio both ways through the node.
    a.rtp.send(sdp_media(a.dialog["remote_sdp"]), count=10, tag=b"X")
    assert len(good.rtp.receive(seconds=3, want=10)) == 10
    good.rtp.send(sdp_media(inv.body), count=10, tag=b"Y")
    assert len(a.rtp.receive(seconds=3, want=10)) == 10
    assert live_call(node, stack.key, tenant["id"], a.dialog["call_id"])["gateway"] == "good"
    assert a.bye().status == 200
    good.expect_bye()
    a.close()


def test_failover_status_moves_to_the_next_gateway(env):
    _, node, _, carriers, _ = env
    a = caller(node)
    a.call("9123", wait_final=False)
    failing = carriers["failing"]
    inv = failing.next(want=lambda m: m.is_request and m.method == "INVITE")
    failing.respond(inv, 503, "Service Unavailable", to_tag="f1")
    carriers["good"].answer()
    responses = wait_final(a)
    assert responses[-1].status == 200
    a.confirm(responses[-1])
    assert a.bye().status == 200
    carriers["good"].expect_bye()
    a.close()


def test_busy_is_the_callee_answer_and_does_not_fail_over(env):
    _, node, _, carriers, _ = env
    a = caller(node)
    a.call("8123", wait_final=False)
    busy = carriers["busy"]
    inv = busy.next(want=lambda m: m.is_request and m.method == "INVITE")
    busy.respond(inv, 486, "Busy Here", to_tag="b1")
    assert wait_final(a)[-1].status == 486
    with pytest.raises(TimeoutError):
        carriers["good"].next(timeout=1, want=lambda m: m.is_request and m.method == "INVITE")
    a.close()


def test_carrier_challenge_is_answered_with_the_gateway_credentials(env):
    _, node, _, carriers, _ = env
    trunk = carriers["auth"]
    a = caller(node)
    a.call("7555", wait_final=False)
    inv = trunk.next(want=lambda m: m.is_request and m.method == "INVITE")
    assert inv.header("remote-party-id").startswith(f"<sip:5001@{DOMAIN}>;party=calling")
    trunk.respond(inv, 407, "Proxy Authentication Required", to_tag="c1",
                  extra=['Proxy-Authenticate: Digest realm="carrier", nonce="n0nce", qop="auth"'])
    again = trunk.next(want=lambda m: m.is_request and m.method == "INVITE")
    auth = dict(re.findall(r'(\w+)="?([^",]*)"?', again.header("proxy-authorization")))
    ha1 = md5("trunkuser:carrier:trunk-secret")
    ha2 = md5(f"INVITE:{auth['uri']}")
    expected = md5(f"{ha1}:n0nce:{auth['nc']}:{auth['cnonce']}:auth:{ha2}")
    assert auth["username"] == "trunkuser" and auth["response"] == expected
    assert again.cseq()[0] == inv.cseq()[0] + 1
    trunk.respond(again, 200, "OK", body=inv.body.replace("127.0.0.1", "127.0.0.1"),
                  to_tag="c2")
    responses = wait_final(a)
    assert responses[-1].status == 200
    a.confirm(responses[-1])
    assert a.bye().status == 200
    trunk.expect_bye()
    a.close()


def test_did_from_the_gateway_rings_the_extension(env):
    _, node, _, _, inbound = env
    b = Phone(node.sip_port, "5002", DOMAIN, PASSWORD)
    b.register()
    inbound.call("+4930999", wait_final=False, expect_auth=False)  # a gateway: no digest
    inv = b.answer()
    assert inv.header("from").find("carrier") >= 0
    responses = wait_final(inbound)
    assert responses[-1].status == 200
    inbound.confirm(responses[-1])
    b.next(want=lambda m: m.is_request and m.method == "ACK")
    assert inbound.bye().status == 200
    b.expect_bye()
    # An unknown number from the gateway: 404, and nothing rings.
    assert inbound.call("+4930000", expect_auth=False)[-1].status == 404
    b.close()


def test_no_route_gives_404(env):
    _, node, _, _, _ = env
    a = caller(node)
    assert a.call("12345")[-1].status == 404
    a.close()


def test_a_gateway_added_later_is_recognised_at_once(env):
    stack, node, tenant, _, _ = env
    newcomer = Carrier(node, source="127.0.0.88")
    # Not a gateway yet: the node asks for credentials (and remembers the address as no gateway).
    newcomer.call("+4930999", wait_final=False, expect_auth=False)
    first = newcomer.next(want=lambda m: not m.is_request and m.status > 100)
    assert first.status == 407
    newcomer._ack(newcomer.dialog["invite"], first)
    status, gw = api(node, "POST", f"/v1/tenants/{tenant['id']}/gateways", stack.key,
                     {"name": "newcomer", "host": "127.0.0.88", "acl_cidrs": ["127.0.0.88/32"]})
    assert status == 201, gw
    # The NOTIFY drops what the node remembered: the next INVITE is the gateway's, no digest.
    b = Phone(node.sip_port, "5002", DOMAIN, PASSWORD)
    b.register()
    newcomer.call("+4930999", wait_final=False, expect_auth=False)
    b.answer(ring=False, status=486, reason="Busy Here")
    assert wait_final(newcomer)[-1].status == 486
    b.close()
    newcomer.close()
