"""Flood and brute-force protection on a real node: a source that fails authentication
security.ban_failures times is banned (nothing it sends is answered) for security.ban_seconds,
and a source over security.rate_limit is dropped; other sources are served throughout.

Sources are distinct loopback addresses (127.0.0.5 ...), which is what the node keys its state
on. Each test is bounded by short socket timeouts rather than the client's default 5 s."""
import socket
import time

import pytest

from harness import api, wait_for
from sipclient import SipClient

DOMAIN = "sec.tandem.test"
PASSWORD = "correct-horse-2"
BAN_SECONDS = 3
SILENT = 0.7  # how long we wait before calling a request unanswered


@pytest.fixture(scope="module")
def env(stack):
    ban = stack.node("ban", security__ban_failures=3, security__ban_window=60,
                     security__ban_seconds=BAN_SECONDS)
    limited = stack.node("limited", security__rate_limit=20, security__rate_burst=20)
    status, tenant = api(ban, "POST", "/v1/tenants", stack.key, {"name": "Sec", "domain": DOMAIN})
    assert status == 201, tenant
    for ext in ("2001", "2002"):
        status, body = api(ban, "POST", f"/v1/tenants/{tenant['id']}/users", stack.key,
                           {"extension": ext, "password": PASSWORD})
        assert status == 201, body
    return ban, limited


def client(node, source, user="2001", password=PASSWORD, timeout=5):
    c = SipClient(node.sip_port, user, DOMAIN, password, source=source)
    c.sock.settimeout(timeout)
    return c


def unanswered(c, method, **kw):
    """True when the request gets no answer at all within SILENT seconds."""
    c.sock.settimeout(SILENT)
    try:
        if method == "REGISTER":
            c.register(**kw)
        else:
            c.request(method, [])
        return False
    except socket.timeout:
        return True


def test_repeated_auth_failures_ban_the_source_for_ban_seconds(env):
    node, _ = env
    attacker = client(node, "127.0.0.5", password="wrong-password")
    for attempt in range(3):
        r, challenge = attacker.register(expires=600)
        assert r.status == 401 and challenge is not None, f"attempt {attempt + 1}: {r.raw}"
    banned_at = time.monotonic()
    assert node.log().count("banning src=127.0.0.5") == 1
    assert "auth failure: src=127.0.0.5" in node.log()

    # Banned: nothing from 127.0.0.5 is answered, right password or not, REGISTER or OPTIONS.
    honest = client(node, "127.0.0.5")
    assert unanswered(honest, "REGISTER", expires=600)
    assert unanswered(honest, "OPTIONS")
    # Another source is served as usual meanwhile.
    neighbour = client(node, "127.0.0.6", user="2002")
    assert neighbour.request("OPTIONS", []).status == 200
    assert neighbour.register(expires=600)[0].status == 200
    assert time.monotonic() - banned_at < BAN_SECONDS, "too slow to observe the ban"
    assert "dropping requests: src=127.0.0.5 reason=banned" in node.log()

    # Served again once ban_seconds have passed, and the ban was logged once only.
    wait_for(lambda: not unanswered(honest, "OPTIONS"), timeout=BAN_SECONDS + 3,
             what="the ban on 127.0.0.5 to expire")
    assert time.monotonic() - banned_at >= BAN_SECONDS - 0.5
    honest.sock.settimeout(5)
    assert honest.register(expires=600)[0].status == 200
    assert node.log().count("banning src=127.0.0.5") == 1
    for c in (attacker, honest, neighbour):
        c.close()


def test_rate_limit_drops_a_burst_from_one_source(env):
    _, node = env
    flood = client(node, "127.0.0.7")
    other = client(node, "127.0.0.8")
    sent = 200
    # In bursts of 20 a few ms apart, so that the kernel's socket buffer, not the node, is never
    # what drops them; halfway through, another source asks too.
    for i in range(sent):
        flood.send_raw(options(flood), expect_reply=False)
        if i % 20 == 19:
            time.sleep(0.003)
        if i == sent // 2:
            probe = options(other)
            other.send_raw(probe, expect_reply=False)
    # The other source is served as usual (retransmitting as a UA would, T1 = 0.5 s).
    other.sock.settimeout(0.5)
    for _ in range(4):
        try:
            assert other.read_response().status == 200
            break
        except socket.timeout:
            other.send_raw(probe, expect_reply=False)
    else:
        pytest.fail("127.0.0.8 was not answered while 127.0.0.7 was limited")

    answered = 0
    flood.sock.settimeout(1.0)
    try:
        while True:
            flood.sock.recvfrom(65535)
            answered += 1
    except socket.timeout:
        pass
    # rate_burst (20) at once plus rate_limit (20/s) while the burst lasts: loosely bounded.
    assert 10 <= answered < 100, f"{answered} of {sent} answered"
    wait_for(lambda: "dropping requests: src=127.0.0.7 reason=rate-limit" in node.log(),
             timeout=3, what="the rate-limit log line")
    # The bucket refills: after a second of silence the source is served again.
    time.sleep(1.0)
    flood.sock.settimeout(5)
    assert flood.request("OPTIONS", []).status == 200
    flood.close()
    other.close()


def options(c):
    c.cseq += 1
    branch = f"z9hG4bK{c.cseq}x{time.monotonic_ns()}"
    return ("\r\n".join([
        f"OPTIONS sip:{DOMAIN} SIP/2.0",
        f"Via: SIP/2.0/UDP {c.source}:{c.local_port};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <sip:{c.user}@{DOMAIN}>;tag=f{c.cseq}",
        f"To: <sip:{c.user}@{DOMAIN}>",
        f"Call-ID: flood-{c.cseq}@{c.source}",
        f"CSeq: {c.cseq} OPTIONS",
        "Content-Length: 0", "", ""])).encode()
