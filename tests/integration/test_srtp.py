"""SRTP with SDES keys (RFC 4568) terminated on the node: an SRTP phone calling a plain-RTP
gateway, and an SRTP phone calling an SRTP phone (each leg with the node's own key). The crypto
on the test's side is libsrtp2 through tests/integration/srtp_peer.c, compiled here with cc."""
import os
import random
import re
import shutil
import struct
import subprocess
import tempfile

import pytest

from harness import api
from sipphone import Phone, sdp_crypto, sdp_media, sdp_offer

DOMAIN = "srtp.tandem.test"
PASSWORD = "keys-in-sdp-1"
HERE = os.path.dirname(os.path.abspath(__file__))


class Carrier(Phone):
    """A carrier's SIP side: never registers, answers what the node sends it."""

    def __init__(self, node):
        super().__init__(node.sip_port, "carrier", "carrier.example", "unused")


@pytest.fixture(scope="module")
def peer():
    """The srtp_peer helper, built for this module in a temporary directory."""
    if not shutil.which("cc"):
        pytest.skip("no C compiler for srtp_peer.c")
    tmp = tempfile.mkdtemp(prefix="tandem-srtp-")
    exe = os.path.join(tmp, "srtp_peer")
    subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", exe,
                    os.path.join(HERE, "srtp_peer.c"), "-lsrtp2"], check=True)
    yield exe
    shutil.rmtree(tmp, ignore_errors=True)


def srtp(exe, op, key, packets):
    """protect/unprotect a list of packets with key (30 bytes); None for refused ones."""
    out = subprocess.run([exe, op, key.hex()], input="".join(p.hex() + "\n" for p in packets),
                         capture_output=True, text=True, check=True).stdout.split()
    assert len(out) == len(packets)
    return [None if line == "-" else bytes.fromhex(line) for line in out]


@pytest.fixture(scope="module")
def env(stack):
    node = stack.node("node1", security__ban_failures=0, media__port_min=39000,
                      media__port_max=39999)
    status, tenant = api(node, "POST", "/v1/tenants", stack.key, {"name": "Srtp", "domain": DOMAIN})
    assert status == 201
    for ext in ("6001", "6002"):
        assert api(node, "POST", f"/v1/tenants/{tenant['id']}/users", stack.key,
                   {"extension": ext, "password": PASSWORD})[0] == 201
    carrier = Carrier(node)
    t = tenant["id"]
    status, gw = api(node, "POST", f"/v1/tenants/{t}/gateways", stack.key,
                     {"name": "carrier", "host": "127.0.0.1", "port": carrier.port})
    assert status == 201, gw
    status, r = api(node, "POST", f"/v1/tenants/{t}/routes", stack.key,
                    {"name": "out", "pattern": "^0[1-9][0-9]+$", "gateway_ids": [gw["id"]],
                     "priority": 100})
    assert status == 201, r
    yield node, carrier
    carrier.close()


def phone(node, ext):
    p = Phone(node.sip_port, ext, DOMAIN, PASSWORD)
    p.register()
    return p


def packets(count, tag, pt=0):
    """Plain RTP packets with numbered payloads (one SSRC, consecutive sequence numbers)."""
    ssrc, seq, ts = random.getrandbits(32), random.getrandbits(15), random.getrandbits(32)
    return [struct.pack("!BBHII", 0x80, pt, seq + i, (ts + 160 * i) & 0xFFFFFFFF, ssrc) + tag +
            struct.pack("!I", i) + bytes(150) for i in range(count)]


def send_all(rtp, dest, pkts):
    for p in pkts:
        rtp.sock.sendto(p, dest)


def received(rtp, want):
    return [data for data, _ in rtp.receive(seconds=3, want=want)]


def wait_final(p):
    responses = []
    while not responses or responses[-1].status < 200:
        responses.append(p.next(timeout=10, want=lambda m: not m.is_request and
                                m.header("call-id") == p.dialog["call_id"]))
    final = responses[-1]
    p.confirm(final)
    return final


def profile(body):
    return re.search(r"(?m)^m=audio \d+ (\S+)", body).group(1)


def test_an_srtp_leg_to_an_rtp_leg(env, peer):
    node, carrier = env
    a = phone(node, "6001")
    key = os.urandom(30)
    a.call("0301234567", wait_final=False, body=sdp_offer(a.rtp.ip, a.rtp.port, crypto=key))
    inv = carrier.answer()
    final = wait_final(a)
    assert final.status == 200
    # The carrier is offered plain RTP; the caller's answer is SRTP with the node's own key.
    assert profile(inv.body) == "RTP/AVP"
    assert "a=crypto" not in inv.body
    assert profile(final.body) == "RTP/SAVP"
    tag, suite, node_key = sdp_crypto(final.body)
    assert (tag, suite) == (1, "AES_CM_128_HMAC_SHA1_80")
    assert len(node_key) == 30 and node_key != key

    # Caller -> carrier: protected on the wire in, the exact plain bytes out.
    plain = packets(10, b"S")
    send_all(a.rtp, sdp_media(final.body), srtp(peer, "protect", key, plain))
    assert received(carrier.rtp, 10) == plain

    # Carrier -> caller: plain in, protected out, unprotecting to the carrier's bytes.
    plain = packets(10, b"P")
    send_all(carrier.rtp, sdp_media(inv.body), plain)
    got = received(a.rtp, 10)
    assert len(got) == 10
    assert all(len(g) == len(p) + 10 and g != p for g, p in zip(got, plain))
    assert srtp(peer, "unprotect", node_key, got) == plain

    # A packet protected with a wrong key is dropped, not relayed.
    send_all(a.rtp, sdp_media(final.body), srtp(peer, "protect", os.urandom(30),
                                                packets(3, b"X")))
    assert received(carrier.rtp, 1) == []
    assert a.bye().status == 200
    carrier.expect_bye()
    a.close()


def test_srtp_to_srtp_uses_a_node_key_on_each_leg(env, peer):
    node, _ = env
    a, b = phone(node, "6001"), phone(node, "6002")
    key_a, key_b = os.urandom(30), os.urandom(30)
    a.call("6002", wait_final=False, body=sdp_offer(a.rtp.ip, a.rtp.port, crypto=key_a,
                                                    crypto_tag=3))
    inv = b.answer(sdp=lambda inv: sdp_offer(b.rtp.ip, b.rtp.port, crypto=key_b,
                                             crypto_tag=sdp_crypto(inv.body)[0]))
    final = wait_final(a)
    assert final.status == 200
    assert profile(inv.body) == "RTP/SAVP" and profile(final.body) == "RTP/SAVP"
    to_b = sdp_crypto(inv.body)[2]      # the node's key toward B
    to_a_tag, _, to_a = sdp_crypto(final.body)
    assert to_a_tag == 3                # the answer repeats the tag A offered
    assert len({key_a, key_b, to_a, to_b}) == 4  # no party's key is passed on

    plain = packets(8, b"A")
    send_all(a.rtp, sdp_media(final.body), srtp(peer, "protect", key_a, plain))
    assert srtp(peer, "unprotect", to_b, received(b.rtp, 8)) == plain
    plain = packets(8, b"B")
    send_all(b.rtp, sdp_media(inv.body), srtp(peer, "protect", key_b, plain))
    assert srtp(peer, "unprotect", to_a, received(a.rtp, 8)) == plain
    assert a.bye().status == 200
    b.expect_bye()
    a.close()
    b.close()


def test_plain_calls_stay_plain(env):
    node, _ = env
    a, b = phone(node, "6001"), phone(node, "6002")
    a.call("6002", wait_final=False)
    inv = b.answer()
    final = wait_final(a)
    assert profile(inv.body) == "RTP/AVP" and profile(final.body) == "RTP/AVP"
    assert "a=crypto" not in inv.body + final.body
    assert a.bye().status == 200
    b.expect_bye()
    a.close()
    b.close()
