"""SIP over TLS with a configured certificate: a client that verifies the node's certificate
registers over TLS, and a call from a UDP phone reaches it over that same TLS connection."""
import os
import subprocess

import pytest

from harness import api, free_port
from sipclient import SipClient
from sipphone import Message, Phone, sdp_offer, sdp_media

DOMAIN = "tls.tandem.test"
PASSWORD = "secure-signalling-1"


@pytest.fixture(scope="module")
def env(stack):
    certs = os.path.join(stack.root, "tls")
    os.makedirs(certs)
    key, cert = os.path.join(certs, "key.pem"), os.path.join(certs, "cafile.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    with open(os.path.join(certs, "agent.pem"), "w") as agent:
        agent.write(open(key).read() + open(cert).read())
    tls_port = free_port()
    node = stack.node("node1", sip__tls_port=tls_port, sip__tls_cert_dir=certs,
                      security__ban_failures=0, media__port_min=37000, media__port_max=37999)
    status, tenant = api(node, "POST", "/v1/tenants", stack.key, {"name": "Tls", "domain": DOMAIN})
    for ext in ("6001", "6002"):
        assert api(node, "POST", f"/v1/tenants/{tenant['id']}/users", stack.key,
                   {"extension": ext, "password": PASSWORD})[0] == 201
    return stack, node, tenant, tls_port, cert


def test_register_over_tls_with_a_verified_certificate(env):
    stack, node, tenant, tls_port, ca = env
    c = SipClient(tls_port, "6002", DOMAIN, PASSWORD, transport="tls", tls_ca=ca)
    r, _ = c.register(expires=600)
    assert r.status == 200, r.raw
    status, regs = api(node, "GET", f"/v1/tenants/{tenant['id']}/registrations", stack.key)
    mine = [x for x in regs if x["aor"] == f"sip:6002@{DOMAIN}"]
    assert mine and mine[0]["transport"] == "tls"
    c.close()


def test_call_reaches_a_tls_phone_over_its_connection(env):
    stack, node, tenant, tls_port, ca = env
    callee = SipClient(tls_port, "6002", DOMAIN, PASSWORD, transport="tls", tls_ca=ca)
    assert callee.register(expires=600)[0].status == 200
    caller = Phone(node.sip_port, "6001", DOMAIN, PASSWORD)
    caller.register()
    caller.call("6002", wait_final=False)

    def next_request(method):
        while True:
            m = Message(callee._read_tcp(), None)
            if m.is_request and m.method == method:
                return m

    def respond(req, status, reason, body=""):
        lines = [f"SIP/2.0 {status} {reason}"] + [f"Via: {v}" for v in req.all("via")] + [
            f"From: {req.header('from')}", f"To: {req.header('to')};tag=tlsside",
            f"Call-ID: {req.header('call-id')}", f"CSeq: {req.header('cseq')}",
            f"Contact: <sip:6002@127.0.0.1:{callee.local_port};transport=tls>"]
        if body:
            lines.append("Content-Type: application/sdp")
        lines += [f"Content-Length: {len(body.encode())}", "", body]
        callee.sock.sendall("\r\n".join(lines).encode())

    inv = next_request("INVITE")
    assert "SIP/2.0/TLS" in inv.header("via")  # arrived over TLS
    respond(inv, 200, "OK", sdp_offer("127.0.0.1", 40000))
    final = caller.next(want=lambda m: not m.is_request and m.status >= 200 and
                        m.header("call-id") == caller.dialog["call_id"])
    assert final.status == 200
    assert sdp_media(final.body)[0] == "127.0.0.1"
    caller.confirm(final)
    next_request("ACK")
    assert caller.bye().status == 200
    bye = next_request("BYE")
    respond(bye, 200, "OK")
    caller.close()
    callee.close()
