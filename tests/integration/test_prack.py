"""Reliable provisional responses (RFC 3262) through the B2BUA, hop by hop: the node PRACKs the
callee's reliable 18x itself, sends its own reliable 18x to a caller that supports 100rel and
answers that caller's PRACKs; early media in a reliable 183 is anchored like any other SDP."""
import socket

import pytest

from harness import api
from sipclient import _rand
from sipphone import Phone, sdp_media, sdp_offer

DOMAIN = "prack.tandem.test"
PASSWORD = "prack-me-1"


@pytest.fixture(scope="module")
def node(stack):
    n = stack.node("prack", security__ban_failures=0, media__port_min=26000,
                   media__port_max=26999)
    status, tenant = api(n, "POST", "/v1/tenants", stack.key, {"name": "Prack", "domain": DOMAIN})
    assert status == 201
    for ext in ("5001", "5002"):
        assert api(n, "POST", f"/v1/tenants/{tenant['id']}/users", stack.key,
                   {"extension": ext, "password": PASSWORD})[0] == 201
    return n


@pytest.fixture
def phones(node):
    caller = Phone(node.sip_port, "5001", DOMAIN, PASSWORD)
    callee = Phone(node.sip_port, "5002", DOMAIN, PASSWORD)
    caller.register()
    callee.register()
    yield caller, callee
    caller.close()
    callee.close()


def reliable(callee, inv, status, reason, rseq, tag, body=""):
    """The callee sends a reliable 1xx and answers the node's PRACK for it; returns the PRACK."""
    callee.respond(inv, status, reason, body=body, to_tag=tag,
                   extra=["Require: 100rel", f"RSeq: {rseq}"])
    prack = callee.next(want=lambda m: m.is_request and m.method == "PRACK")
    callee.respond(prack, 200, "OK")
    return prack


def provisional(caller, status):
    return caller.next(want=lambda m: not m.is_request and m.status == status)


def test_reliable_183_with_sdp_and_180_connect_a_caller_requiring_100rel(phones):
    caller, callee = phones
    caller.call("5002", wait_final=False, extra=["Require: 100rel", "Supported: 100rel"])
    inv = callee.next(want=lambda m: m.is_request and m.method == "INVITE")
    # The node offers 100rel on its own hop, whatever the caller asked for.
    assert "100rel" in (inv.header("supported") or "")
    assert "100rel" not in (inv.header("require") or "")
    tag, invite_cseq = _rand(8), inv.cseq()[0]

    prack = reliable(callee, inv, 183, "Session Progress", 1, tag,
                     body=sdp_offer(callee.rtp.ip, callee.rtp.port))
    assert prack.header("rack") == f"1 {invite_cseq} INVITE"
    assert prack.header("to").endswith(f"tag={tag}")
    early = provisional(caller, 183)
    assert "100rel" in early.header("require")
    first_rseq = int(early.header("rseq"))
    # The early answer carries the node's media address, not the callee's.
    node_ip, node_port = sdp_media(early.body)
    assert node_ip == "127.0.0.1" and node_port != callee.rtp.port
    assert caller.prack(early).status == 200

    # Early media flows from the callee to the caller through the node.
    callee.rtp.send(sdp_media(inv.body), count=5, tag=b"R")
    assert len(caller.rtp.receive(seconds=3, want=5)) == 5

    prack = reliable(callee, inv, 180, "Ringing", 2, tag)
    assert prack.header("rack") == f"2 {invite_cseq} INVITE"
    ringing = provisional(caller, 180)
    assert "100rel" in ringing.header("require")
    assert int(ringing.header("rseq")) == first_rseq + 1
    assert caller.prack(ringing).status == 200

    # The answer was in the reliable 183 (RFC 3262 5): the 200s carry no SDP on either hop.
    callee.respond(inv, 200, "OK", to_tag=tag)
    callee.callee_dialog(inv, tag)
    final = caller.next(want=lambda m: not m.is_request and m.cseq()[1] == "INVITE"
                        and m.status >= 200)
    assert final.status == 200 and not final.body
    caller.confirm(final)
    callee.next(want=lambda m: m.is_request and m.method == "ACK")
    caller.rtp.send((node_ip, node_port), count=5, tag=b"C")
    assert len(callee.rtp.receive(seconds=3, want=5)) == 5
    assert caller.bye().status == 200
    callee.expect_bye()


def test_caller_supporting_100rel_gets_a_reliable_183_and_the_200_waits_for_its_prack(phones):
    caller, callee = phones
    caller.call("5002", wait_final=False, extra=["Supported: 100rel"])
    inv = callee.next(want=lambda m: m.is_request and m.method == "INVITE")
    tag = _rand(8)
    # This callee does not do 100rel: a plain 183 and a 200 right after it.
    callee.respond(inv, 183, "Session Progress", body=sdp_offer(callee.rtp.ip, callee.rtp.port),
                   to_tag=tag)
    early = provisional(caller, 183)
    assert early.header("rseq") and "100rel" in early.header("require") and early.body
    callee.respond(inv, 200, "OK", body=sdp_offer(callee.rtp.ip, callee.rtp.port), to_tag=tag)
    callee.callee_dialog(inv, tag)
    # nta holds the 200 back while the 183 with the answer is not PRACKed (RFC 3262 3).
    with pytest.raises(TimeoutError):
        caller.next(timeout=1.0, want=lambda m: not m.is_request and m.status == 200
                    and m.cseq()[1] == "INVITE")
    assert caller.prack(early).status == 200
    final = caller.next(want=lambda m: not m.is_request and m.cseq()[1] == "INVITE"
                        and m.status >= 200)
    assert final.status == 200
    caller.confirm(final)
    callee.next(want=lambda m: m.is_request and m.method == "ACK")
    assert caller.bye().status == 200
    callee.expect_bye()


def test_answer_only_in_a_reliable_183_reaches_a_caller_without_100rel_in_the_200(phones):
    caller, callee = phones
    caller.call("5002", wait_final=False)
    inv = callee.next(want=lambda m: m.is_request and m.method == "INVITE")
    tag = _rand(8)
    reliable(callee, inv, 183, "Session Progress", 7, tag,
             body=sdp_offer(callee.rtp.ip, callee.rtp.port))
    early = provisional(caller, 183)
    assert early.header("rseq") is None  # the caller said nothing of 100rel
    callee.respond(inv, 200, "OK", to_tag=tag)  # no SDP: the answer was the 183's
    callee.callee_dialog(inv, tag)
    final = caller.next(want=lambda m: not m.is_request and m.cseq()[1] == "INVITE"
                        and m.status >= 200)
    assert final.status == 200 and sdp_media(final.body) == sdp_media(early.body)
    caller.confirm(final)
    callee.next(want=lambda m: m.is_request and m.method == "ACK")
    assert caller.bye().status == 200
    callee.expect_bye()


def test_prack_for_an_unknown_dialog_gets_481(node):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    port = sock.getsockname()[1]
    text = "\r\n".join([
        f"PRACK sip:tandem@127.0.0.1:{node.sip_port} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{_rand()};rport",
        "Max-Forwards: 70", f"From: <sip:5001@{DOMAIN}>;tag={_rand(8)}",
        f"To: <sip:5002@{DOMAIN}>;tag={_rand(8)}", f"Call-ID: {_rand(16)}@nowhere",
        "CSeq: 2 PRACK", "RAck: 1 1 INVITE", "Content-Length: 0", "", ""])
    sock.sendto(text.encode(), ("127.0.0.1", node.sip_port))
    data, _ = sock.recvfrom(65535)
    sock.close()
    assert data.decode().startswith("SIP/2.0 481 ")


def test_options_advertise_100rel_and_prack(node):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    port = sock.getsockname()[1]
    text = "\r\n".join([
        f"OPTIONS sip:127.0.0.1:{node.sip_port} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{_rand()};rport",
        "Max-Forwards: 70", f"From: <sip:probe@{DOMAIN}>;tag={_rand(8)}",
        f"To: <sip:{DOMAIN}>", f"Call-ID: {_rand(16)}@probe", "CSeq: 1 OPTIONS",
        "Content-Length: 0", "", ""])
    sock.sendto(text.encode(), ("127.0.0.1", node.sip_port))
    data, _ = sock.recvfrom(65535)
    sock.close()
    reply = data.decode()
    assert reply.startswith("SIP/2.0 200 ")
    assert "100rel" in reply and "PRACK" in reply
