"""NAT keepalives: OPTIONS reach a binding through the address and socket it registered from
(not its Contact address), and a binding that stops answering is removed."""
import re
import socket
import time

import pytest

from harness import api, wait_for
from sipclient import SipClient

DOMAIN = "ka.tandem.test"
PASSWORD = "keepalive-pass-1"
NATTED_CONTACT = "sip:{user}@127.0.0.9:5999"  # what the phone believes is its address


@pytest.fixture(scope="module")
def env(stack):
    node = stack.node("node1", nat__keepalive_interval=1, nat__keepalive_failures=2,
                      security__ban_failures=0)
    status, tenant = api(node, "POST", "/v1/tenants", stack.key, {"name": "Ka", "domain": DOMAIN})
    assert status == 201
    for ext in ("3001", "3002"):
        assert api(node, "POST", f"/v1/tenants/{tenant['id']}/users", stack.key,
                   {"extension": ext, "password": PASSWORD})[0] == 201
    return stack, node, tenant


def registered(stack, user):
    return stack.redis.cli("HLEN", f"tandem:reg:{DOMAIN}:{user}") not in (None, "(integer) 0")


def read_requests(sock, seconds, answer, transport):
    """Collects incoming requests for a while, answering each with 200 when asked to."""
    got, buffer, deadline = [], b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            if transport == "udp":
                data, peer = sock.recvfrom(65535)
            else:
                data, peer = sock.recv(65535), sock.getpeername()
        except socket.timeout:
            continue
        buffer += data
        while b"\r\n\r\n" in buffer:
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            text = head.decode()
            if not text.startswith("OPTIONS "):
                continue
            got.append((text, peer))
            if answer:
                via = [l for l in text.split("\r\n") if l.lower().startswith(("via:", "v:"))]
                keep = [l for l in text.split("\r\n")
                        if l.lower().split(":")[0] in ("from", "to", "call-id", "cseq", "f", "t", "i")]
                reply = "\r\n".join(["SIP/2.0 200 OK"] + via + keep + ["Content-Length: 0", "", ""])
                if transport == "udp":
                    sock.sendto(reply.encode(), peer)
                else:
                    sock.sendall(reply.encode())
    return got


@pytest.mark.parametrize("transport,user", [("udp", "3001"), ("tcp", "3002")])
def test_keepalives_follow_the_nat_and_dead_bindings_go(env, transport, user):
    stack, node, tenant = env
    phone = SipClient(node.sip_port, user, DOMAIN, PASSWORD, transport=transport)
    contact = NATTED_CONTACT.format(user=user)
    r, _ = phone.register(contacts=[f"<{contact}>"], expires=600)
    assert r.status == 200, r.raw

    pings = read_requests(phone.sock, 3.5, answer=True, transport=transport)
    assert len(pings) >= 2, "expected a keepalive about every second"
    for text, peer in pings:
        assert text.startswith(f"OPTIONS {contact} SIP/2.0")
        assert peer == ("127.0.0.1", node.sip_port)  # from the socket that took the REGISTER
        assert re.search(rf"(?im)^(to|t):\s*<?sip:{user}@{DOMAIN}", text)
    assert registered(stack, user), "an answering binding must stay"

    # The phone goes silent: after two unanswered pings the binding is removed.
    read_requests(phone.sock, 0.1, answer=False, transport=transport)
    wait_for(lambda: (read_requests(phone.sock, 0.5, answer=False, transport=transport) or True)
             and not registered(stack, user), timeout=15,
             what="the silent binding to be removed")
    status, regs = api(node, "GET", f"/v1/tenants/{tenant['id']}/registrations", stack.key)
    assert f"sip:{user}@{DOMAIN}" not in {x["aor"] for x in regs}
    assert f"keepalive: removing {user}@{DOMAIN}" in node.log()
    phone.close()


def test_a_dead_nodes_bindings_are_pinged_by_exactly_one_survivor(env):
    stack, node1, _ = env
    nodes = [stack.node(name, nat__keepalive_interval=1, nat__keepalive_failures=5,
                        security__ban_failures=0) for name in ("ka-a", "ka-b", "ka-c")]
    a, b, c = nodes
    phone = SipClient(a.sip_port, "3001", DOMAIN, PASSWORD)
    r, _ = phone.register(contacts=[f"<{NATTED_CONTACT.format(user='3001')}>"], expires=600)
    assert r.status == 200
    pings = read_requests(phone.sock, 2.5, answer=True, transport="udp")
    assert {peer for _, peer in pings} == {("127.0.0.1", a.sip_port)}

    a.proc.kill()  # kill -9: no goodbye, the heartbeat just stops
    a.proc.wait()
    a.proc = None
    # Death is noticed after 3 s without a heartbeat; then one survivor takes the pings over.
    read_requests(phone.sock, 4.5, answer=True, transport="udp")
    pings = read_requests(phone.sock, 4, answer=True, transport="udp")
    senders = {peer for _, peer in pings}
    assert len(pings) >= 2, "the survivors stopped pinging the dead node's binding"
    survivors = {("127.0.0.1", n.sip_port) for n in (node1, b, c)}
    assert len(senders) == 1 and senders <= survivors, (senders, survivors)
    phone.close()
