"""Gateway health, registration and limits (node/sip/gateway_*.c): OPTIONS pings mark a gateway
up or down in Redis, down gateways are skipped at once, REGISTER with digest to a carrier, max_calls
and max_cps across the cluster (emergency routes exempt), and Diversion passed to the carrier.
Carriers are scripted UAs on loopback whose background thread answers OPTIONS as a live one does."""
import queue
import re
import socket
import threading
import time

import pytest

from harness import api, wait_for
from sipclient import md5
from sipphone import Message, Phone

DOMAIN = "gwh.tandem.test"
PASSWORD = "health-calls-1"


class Carrier(Phone):
    """A carrier's SIP side: OPTIONS answered (or counted only) in the background, everything
    else queued for the test to read with next()."""

    def __init__(self, node, answer_options=True):
        super().__init__(node.sip_port, "carrier", "carrier.example", "unused")
        self.answer_options = answer_options
        self.options = 0
        self.inbox = queue.Queue()
        self.stopping = False
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self):
        while not self.stopping:
            try:
                data, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            m = Message(data.decode(errors="replace"), peer)
            if m.is_request and m.method == "OPTIONS":
                self.options += 1
                if self.answer_options:
                    self.respond(m, 200, "OK")
                continue
            self.inbox.put(m)

    def next(self, timeout=5.0, want=None):
        for i, m in enumerate(self.pending):
            if want is None or want(m):
                return self.pending.pop(i)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                m = self.inbox.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if want is None or want(m):
                return m
            self.pending.append(m)
        raise TimeoutError(f"carrier: no message within {timeout}s")

    def close(self):
        self.stopping = True
        self.thread.join()
        super().close()


class DivertedPhone(Phone):
    """A phone whose INVITEs carry Diversion headers (a call forwarded on the PBX side)."""

    DIVERSION = ['<sip:5009@gwh.tandem.test>;reason=unconditional;counter=1',
                 '<sip:+4930111@carrier.example>;reason=user-busy']

    def _invite_text(self, callee, body, cseq, call_id, from_tag, auth=None, extra=()):
        diversion = tuple(f"Diversion: {d}" for d in self.DIVERSION)
        return super()._invite_text(callee, body, cseq, call_id, from_tag, auth,
                                    extra=diversion + tuple(extra))


def state(stack, gw_id):
    out = stack.redis.raw("HGETALL", f"tandem:gw:{gw_id}").split("\n")
    return dict(zip(out[0::2], out[1::2]))


@pytest.fixture(scope="module")
def env(stack):
    node = stack.node("node1", security__ban_failures=0, media__port_min=35000,
                      media__port_max=35999)
    status, tenant = api(node, "POST", "/v1/tenants", stack.key, {"name": "Gwh", "domain": DOMAIN})
    assert status == 201
    for ext in ("5001", "5002", "5003", "5004"):
        assert api(node, "POST", f"/v1/tenants/{tenant['id']}/users", stack.key,
                   {"extension": ext, "password": PASSWORD})[0] == 201
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    carriers = {name: Carrier(node) for name in ("good", "registrar", "lim", "spare", "cps")}
    t = tenant["id"]

    def gateway(name, port, **extra):
        body = {"name": name, "host": "127.0.0.1", "port": port, "ping_interval": 5,
                "originate_timeout_ms": 3000}
        body.update(extra)
        status, gw = api(node, "POST", f"/v1/tenants/{t}/gateways", stack.key, body)
        assert status == 201, gw
        return gw["id"]

    gws = {
        "silent": gateway("silent", silent.getsockname()[1]),
        "good": gateway("good", carriers["good"].port),
        "registrar": gateway("registrar", carriers["registrar"].port, ping_interval=0,
                             register=True, username="trunkuser", password="s3cret",
                             register_expires=60),
        "lim": gateway("lim", carriers["lim"].port, max_calls=1),
        "spare": gateway("spare", carriers["spare"].port),
        "cps": gateway("cps", carriers["cps"].port, max_cps=0.2),
    }

    def route(name, pattern, gateways, **extra):
        body = {"name": name, "pattern": pattern, "gateway_ids": [gws[g] for g in gateways]}
        body.update(extra)
        status, r = api(node, "POST", f"/v1/tenants/{t}/routes", stack.key, body)
        assert status == 201, r

    route("skip-down", "^6[0-9]+$", ["silent", "good"])
    route("limited", "^5[0-9]+$", ["lim", "spare"])
    route("limited-only", "^4[0-9]+$", ["lim"])
    route("emergency", "^112$", ["lim"], emergency=True, priority=1)
    route("rate", "^3[0-9]+$", ["cps", "spare"])
    yield stack, node, gws, carriers
    silent.close()
    for c in carriers.values():
        c.close()


def caller(node, ext="5001", cls=Phone):
    p = cls(node.sip_port, ext, DOMAIN, PASSWORD)
    p.register()
    return p


def wait_final(phone):
    responses = []
    while not responses or responses[-1].status < 200:
        responses.append(phone.next(timeout=10, want=lambda m: not m.is_request and
                                    m.header("call-id") == phone.dialog["call_id"]))
    return responses


def connect(phone, carrier):
    """Completes a call the carrier answers; returns the carrier's INVITE."""
    inv = carrier.answer()
    responses = wait_final(phone)
    assert responses[-1].status == 200
    final = responses[-1]
    phone.confirm(final)
    carrier.next(want=lambda m: m.is_request and m.method == "ACK")
    return inv


def hang_up(phone, carrier):
    assert phone.bye().status == 200
    carrier.expect_bye()


def test_register_answers_the_challenge_and_is_recorded(env):
    stack, node, gws, carriers = env
    reg = carriers["registrar"]
    first = reg.next(timeout=10, want=lambda m: m.is_request and m.method == "REGISTER")
    assert first.uri == f"sip:127.0.0.1:{reg.port}"
    assert first.header("to") == "<sip:trunkuser@127.0.0.1>"
    assert first.header("from").startswith("<sip:trunkuser@127.0.0.1>;tag=")
    assert first.contact_uri() == f"sip:trunkuser@127.0.0.1:{node.sip_port}"
    assert first.header("expires") == "60" and first.header("authorization") is None
    reg.respond(first, 401, "Unauthorized", to_tag="r1",
                extra=['WWW-Authenticate: Digest realm="carrier.example", nonce="n0nce-1", '
                       'qop="auth", opaque="op4que"'])
    again = reg.next(want=lambda m: m.is_request and m.method == "REGISTER" and
                     m.header("authorization") is not None)  # not a retransmission
    assert again.header("call-id") == first.header("call-id")
    assert again.cseq()[0] == first.cseq()[0] + 1
    auth = dict(re.findall(r'(\w+)="?([^",]*)"?', again.header("authorization")))
    assert auth["username"] == "trunkuser" and auth["uri"] == again.uri
    assert auth["opaque"] == "op4que" and auth["qop"] == "auth"
    ha1 = md5("trunkuser:carrier.example:s3cret")
    ha2 = md5(f"REGISTER:{again.uri}")
    assert auth["response"] == md5(f"{ha1}:n0nce-1:{auth['nc']}:{auth['cnonce']}:auth:{ha2}")
    reg.respond(again, 200, "OK", to_tag="r1", extra=["Expires: 60"])
    wait_for(lambda: state(stack, gws["registrar"]).get("registered") == "1", timeout=5,
             what="registered")
    s = state(stack, gws["registrar"])
    assert abs(int(s["expires_at"]) - (time.time() + 60)) < 5


def test_answering_gateway_is_marked_up(env):
    stack, _, gws, carriers = env
    wait_for(lambda: state(stack, gws["good"]).get("up") == "1", timeout=10, what="good up")
    s = state(stack, gws["good"])
    assert s["failures"] == "0" and s["last_status"] == "200" and s["node"] == "node1"
    assert carriers["good"].options >= 1


def test_silent_gateway_is_marked_down_after_two_pings(env):
    stack, _, gws, _ = env
    wait_for(lambda: state(stack, gws["silent"]).get("up") == "0", timeout=20, what="silent down")
    s = state(stack, gws["silent"])
    assert int(s["failures"]) >= 2 and s["last_status"] == "408"
    assert int(stack.redis.raw("TTL", f"tandem:gw:{gws['silent']}")) > 0


def test_route_skips_a_down_gateway_at_once(env):
    stack, node, gws, carriers = env
    wait_for(lambda: state(stack, gws["silent"]).get("up") == "0", timeout=20, what="silent down")
    time.sleep(1.5)  # every node's copy of the state is at most a second old
    a = caller(node)
    started = time.monotonic()
    a.call("6123", wait_final=False)
    inv = carriers["good"].next(want=lambda m: m.is_request and m.method == "INVITE")
    assert time.monotonic() - started < 1.5, "waited for the down gateway's originate timeout"
    carriers["good"].pending.insert(0, inv)
    connect(a, carriers["good"])
    hang_up(a, carriers["good"])
    a.close()


def test_max_calls_fails_over_then_frees_the_slot_when_the_call_ends(env):
    stack, node, gws, carriers = env
    lim, spare = carriers["lim"], carriers["spare"]
    slots = f"tandem:gwcalls:{gws['lim']}"
    a, b, c = caller(node, "5001"), caller(node, "5002"), caller(node, "5003")
    a.call("5111", wait_final=False)
    connect(a, lim)
    assert stack.redis.raw("ZCARD", slots).strip() == "1"
    # The second concurrent call skips the full gateway...
    b.call("5222", wait_final=False)
    connect(b, spare)
    with pytest.raises(TimeoutError):
        lim.next(timeout=0.5, want=lambda m: m.is_request and m.method == "INVITE")
    hang_up(b, spare)
    # ...and with no other gateway it gets 503.
    assert c.call("4333")[-1].status == 503
    # An emergency route is exempt from the limit.
    c.call("112", wait_final=False)
    connect(c, lim)
    hang_up(c, lim)
    # The first call ends: its slot is given back and the gateway takes calls again.
    hang_up(a, lim)
    assert stack.redis.raw("ZCARD", slots).strip() == "0"
    b.call("4444", wait_final=False)
    connect(b, lim)
    hang_up(b, lim)
    for p in (a, b, c):
        p.close()


def test_max_cps_fails_over_within_the_second(env):
    _, node, _, carriers = env
    a, b = caller(node, "5001"), caller(node, "5002")
    a.call("3111", wait_final=False)
    connect(a, carriers["cps"])
    b.call("3222", wait_final=False)  # 0.2 calls per second: no token for another 5 s
    connect(b, carriers["spare"])
    hang_up(a, carriers["cps"])
    hang_up(b, carriers["spare"])
    a.close()
    b.close()


def test_diversion_reaches_the_carrier(env):
    _, node, _, carriers = env
    a = caller(node, "5004", cls=DivertedPhone)
    a.call("6555", wait_final=False)
    inv = connect(a, carriers["good"])
    assert inv.all("diversion") == DivertedPhone.DIVERSION
    hang_up(a, carriers["good"])
    a.close()
