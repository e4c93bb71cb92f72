"""DTMF between a party with RFC 4733 telephone-event and one without it, either way round:
the events of the one with it reach the other as SIP INFO (one per digit, with its duration),
and the other's INFO reaches it as well-formed RFC 4733 packets continuing the audio stream."""
import struct
import time

import pytest

from harness import api
from sipphone import Phone, sdp_media, sdp_offer

DOMAIN = "dtmf.tandem.test"
PASSWORD = "press-five-1"


@pytest.fixture(scope="module")
def node(stack):
    n = stack.node("dtmf", security__ban_failures=0, media__port_min=28000,
                   media__port_max=28999)
    status, tenant = api(n, "POST", "/v1/tenants", stack.key, {"name": "Dtmf", "domain": DOMAIN})
    assert status == 201
    for ext in ("7001", "7002"):
        assert api(n, "POST", f"/v1/tenants/{tenant['id']}/users", stack.key,
                   {"extension": ext, "password": PASSWORD})[0] == 201
    return n


@pytest.fixture
def call(node):
    """A connected call: the caller offers PCMU, PCMA and telephone-event 101, the callee
    answers PCMU and PCMA only."""
    caller = Phone(node.sip_port, "7001", DOMAIN, PASSWORD)
    callee = Phone(node.sip_port, "7002", DOMAIN, PASSWORD)
    caller.register()
    callee.register()
    caller.call("7002", wait_final=False)
    inv = callee.answer(sdp=lambda inv: sdp_offer(callee.rtp.ip, callee.rtp.port, pts=(0, 8)))
    final = caller.next(want=lambda m: not m.is_request and m.cseq()[1] == "INVITE"
                        and m.status >= 200)
    assert final.status == 200
    caller.confirm(final)
    callee.next(want=lambda m: m.is_request and m.method == "ACK")
    yield caller, callee, inv, final
    caller.close()
    callee.close()


def event_packets(rtp, dest, event, samples, step=400):
    """Sends one RFC 4733 event the way phones do: start (marker), updates every step samples,
    the end packet three times; all with the event's timestamp."""
    ts, durations = rtp.ts, list(range(step, samples, step)) + [samples] * 4
    for i, duration in enumerate(durations):
        end = i >= len(durations) - 3
        header = struct.pack("!BBHII", 0x80, (0x80 if i == 0 else 0) | 101, rtp.seq & 0xFFFF,
                             ts & 0xFFFFFFFF, rtp.ssrc)
        payload = struct.pack("!BBH", event, (0x80 if end else 0) | 10, duration)
        rtp.sock.sendto(header + payload, dest)
        rtp.seq += 1
        time.sleep(0.01)
    rtp.ts += samples


def info_body(info):
    return dict(line.split("=", 1) for line in info.body.split("\r\n") if "=" in line)


def test_caller_events_reach_a_callee_without_telephone_event_as_info(call):
    caller, callee, inv, final = call
    # The caller keeps telephone-event in its answer (the node terminates it on this leg).
    assert "telephone-event" in final.body
    assert " 101" in [l for l in final.body.split("\r\n") if l.startswith("m=audio")][0]
    node_a = sdp_media(final.body)
    for digit, code, samples in (("5", 5, 1280), ("#", 11, 800)):
        event_packets(caller.rtp, node_a, code, samples)
        info = callee.next(want=lambda m: m.is_request and m.method == "INFO")
        callee.respond(info, 200, "OK")
        assert info.header("content-type") == "application/dtmf-relay"
        body = info_body(info)
        assert body["Signal"] == digit and body["Duration"] == str(samples // 8)
    # One INFO per digit (the repeated end packets are not reported again), and no event
    # packet was relayed to a callee that did not accept them.
    with pytest.raises(TimeoutError):
        callee.next(timeout=0.5, want=lambda m: m.is_request and m.method == "INFO")
    assert not [d for d, _ in callee.rtp.receive(seconds=0.3) if d[1] & 0x7F == 101]
    assert caller.bye().status == 200
    callee.expect_bye()


def parse(packets):
    out = []
    for data, _ in packets:
        b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
        out.append(dict(marker=bool(b1 & 0x80), pt=b1 & 0x7F, seq=seq, ts=ts, ssrc=ssrc,
                        payload=data[12:]))
    return out


def test_callee_info_reaches_the_caller_as_rfc4733_continuing_the_stream(call):
    caller, callee, inv, final = call
    node_b = sdp_media(inv.body)
    callee.rtp.send(node_b, count=5, tag=b"E")
    audio = parse(caller.rtp.receive(seconds=3, want=5))
    assert len(audio) == 5
    callee.send_in_dialog("INFO", body="Signal=7\r\nDuration=120\r\n",
                          content_type="application/dtmf-relay")
    cseq = callee.dialog["cseq"]
    ok = callee.next(want=lambda m: not m.is_request and m.cseq() == (cseq, "INFO"))
    assert ok.status == 200
    events = parse(caller.rtp.receive(seconds=2, want=5))
    callee.rtp.send(node_b, count=3, tag=b"F")
    after = parse(caller.rtp.receive(seconds=3, want=3))
    # every 50 ms: start (marker) at 400 samples, an update at 800, the end (E) at 960 = 120 ms
    # sent three times
    assert [e["pt"] for e in events] == [101] * 5
    assert [e["marker"] for e in events] == [True, False, False, False, False]
    blocks = [struct.unpack("!BBH", e["payload"][:4]) for e in events]
    assert [b[0] for b in blocks] == [7] * 5
    assert [b[2] for b in blocks] == [400, 800, 960, 960, 960]
    assert [bool(b[1] & 0x80) for b in blocks] == [False, False, True, True, True]
    # One stream: the audio's SSRC, sequence numbers continuing it and continued after it,
    # one timestamp for the event, at or after the audio's.
    stream = audio + events + after
    assert {p["ssrc"] for p in stream} == {audio[0]["ssrc"]}
    assert [(p["seq"] - audio[0]["seq"]) & 0xFFFF for p in stream] == list(range(len(stream)))
    assert len({e["ts"] for e in events}) == 1
    assert (events[0]["ts"] - audio[-1]["ts"]) & 0xFFFFFFFF < 8000 * 5
    # application/dtmf: the digit alone, for the default 100 ms.
    callee.send_in_dialog("INFO", body="3", content_type="application/dtmf")
    cseq = callee.dialog["cseq"]
    assert callee.next(want=lambda m: not m.is_request
                       and m.cseq() == (cseq, "INFO")).status == 200
    events = parse(caller.rtp.receive(seconds=2, want=4))
    assert [struct.unpack("!BBH", e["payload"][:4]) for e in events] == [
        (3, 10, 400), (3, 0x80 | 10, 800), (3, 0x80 | 10, 800), (3, 0x80 | 10, 800)]
    assert caller.bye().status == 200
    callee.expect_bye()


def test_both_sides_with_telephone_event_stay_a_plain_relay(node):
    caller = Phone(node.sip_port, "7001", DOMAIN, PASSWORD)
    callee = Phone(node.sip_port, "7002", DOMAIN, PASSWORD)
    caller.register()
    callee.register()
    caller.call("7002", wait_final=False)
    callee.answer()
    final = caller.next(want=lambda m: not m.is_request and m.cseq()[1] == "INVITE"
                        and m.status >= 200)
    caller.confirm(final)
    callee.next(want=lambda m: m.is_request and m.method == "ACK")
    event_packets(caller.rtp, sdp_media(final.body), 5, 800)
    relayed = parse(callee.rtp.receive(seconds=2, want=5))
    assert len(relayed) == 5 and all(p["pt"] == 101 for p in relayed)
    with pytest.raises(TimeoutError):
        callee.next(timeout=0.5, want=lambda m: m.is_request and m.method == "INFO")
    assert caller.bye().status == 200
    callee.expect_bye()
    caller.close()
    callee.close()


@pytest.fixture
def reverse_call(node):
    """A connected call the other way round: the caller offers PCMU and PCMA only, the callee
    takes the telephone-event the node adds to its offer."""
    caller = Phone(node.sip_port, "7001", DOMAIN, PASSWORD)
    callee = Phone(node.sip_port, "7002", DOMAIN, PASSWORD)
    caller.register()
    callee.register()
    caller.call("7002", wait_final=False, body=sdp_offer(caller.rtp.ip, caller.rtp.port,
                                                          pts=(0, 8)))
    inv = callee.answer()  # PCMU, PCMA and telephone-event 101
    final = caller.next(want=lambda m: not m.is_request and m.cseq()[1] == "INVITE"
                        and m.status >= 200)
    assert final.status == 200
    caller.confirm(final)
    callee.next(want=lambda m: m.is_request and m.method == "ACK")
    yield caller, callee, inv, final
    caller.close()
    callee.close()


def m_formats(body):
    return [l for l in body.split("\r\n") if l.startswith("m=audio")][0].split()[3:]


def test_callee_events_reach_a_caller_without_telephone_event_as_info(reverse_call):
    caller, callee, inv, final = reverse_call
    # The callee is offered telephone-event (101: free in the caller's offer); the caller's
    # answer has none, as it offered none.
    assert "101" in m_formats(inv.body) and "a=rtpmap:101 telephone-event/8000" in inv.body
    assert "telephone-event" not in final.body and m_formats(final.body) == ["0", "8"]
    node_b = sdp_media(inv.body)
    for digit, code, samples in (("9", 9, 960), ("*", 10, 1600)):
        event_packets(callee.rtp, node_b, code, samples)
        info = caller.next(want=lambda m: m.is_request and m.method == "INFO")
        caller.respond(info, 200, "OK")
        assert info.header("content-type") == "application/dtmf-relay"
        assert info.header("call-id") == caller.dialog["call_id"]
        body = info_body(info)
        assert body["Signal"] == digit and body["Duration"] == str(samples // 8)
    with pytest.raises(TimeoutError):
        caller.next(timeout=0.5, want=lambda m: m.is_request and m.method == "INFO")
    # The caller, which took no events, gets none of the callee's packets.
    assert not [d for d, _ in caller.rtp.receive(seconds=0.3) if d[1] & 0x7F == 101]
    assert caller.bye().status == 200
    callee.expect_bye()


def test_caller_info_reaches_the_callee_as_rfc4733_with_its_payload_type(reverse_call):
    caller, callee, inv, final = reverse_call
    node_a = sdp_media(final.body)
    caller.rtp.send(node_a, count=5, tag=b"G")
    audio = parse(callee.rtp.receive(seconds=3, want=5))
    assert len(audio) == 5
    caller.send_in_dialog("INFO", body="Signal=4\r\nDuration=120\r\n",
                          content_type="application/dtmf-relay")
    cseq = caller.dialog["cseq"]
    ok = caller.next(want=lambda m: not m.is_request and m.cseq() == (cseq, "INFO"))
    assert ok.status == 200
    events = parse(callee.rtp.receive(seconds=2, want=5))
    # The INFO itself is not relayed: the callee gets the digit only as RFC 4733.
    with pytest.raises(TimeoutError):
        callee.next(timeout=0.3, want=lambda m: m.is_request and m.method == "INFO")
    assert [e["pt"] for e in events] == [101] * 5
    assert [e["marker"] for e in events] == [True, False, False, False, False]
    blocks = [struct.unpack("!BBH", e["payload"][:4]) for e in events]
    assert [b[0] for b in blocks] == [4] * 5
    assert [b[2] for b in blocks] == [400, 800, 960, 960, 960]
    assert [bool(b[1] & 0x80) for b in blocks] == [False, False, True, True, True]
    stream = audio + events
    assert {p["ssrc"] for p in stream} == {audio[0]["ssrc"]}
    assert [(p["seq"] - audio[0]["seq"]) & 0xFFFF for p in stream] == list(range(len(stream)))
    assert len({e["ts"] for e in events}) == 1
    # application/dtmf: the digit alone, for the default 100 ms.
    caller.send_in_dialog("INFO", body="#", content_type="application/dtmf")
    cseq = caller.dialog["cseq"]
    assert caller.next(want=lambda m: not m.is_request
                       and m.cseq() == (cseq, "INFO")).status == 200
    events = parse(callee.rtp.receive(seconds=2, want=4))
    assert [e["pt"] for e in events] == [101] * 4
    assert [struct.unpack("!BBH", e["payload"][:4]) for e in events] == [
        (11, 10, 400), (11, 0x80 | 10, 800), (11, 0x80 | 10, 800), (11, 0x80 | 10, 800)]
    assert caller.bye().status == 200
    callee.expect_bye()


def test_translation_survives_re_invites_from_either_side(reverse_call):
    """Hold and unhold by the caller (no events), then a re-INVITE by the callee (events): the
    callee keeps being offered and answered telephone-event at its type, the caller never sees
    it, and the caller's INFO digit still reaches the callee as RFC 4733 afterwards."""
    caller, callee, _, _ = reverse_call
    for direction in ("a=sendonly", "a=sendrecv"):
        caller.send_in_dialog("INVITE", body=sdp_offer(caller.rtp.ip, caller.rtp.port, pts=(0, 8))
                              .replace("a=sendrecv", direction))
        reinv = callee.next(want=lambda m: m.is_request and m.method == "INVITE")
        assert "101" in m_formats(reinv.body), reinv.body
        assert "a=rtpmap:101 telephone-event/8000" in reinv.body
        callee.respond(reinv, 200, "OK", body=sdp_offer(
            callee.rtp.ip, callee.rtp.port).replace(
            "a=sendrecv", "a=recvonly" if direction == "a=sendonly" else "a=sendrecv"))
        ok = caller.next(want=lambda m: not m.is_request and m.cseq()[1] == "INVITE"
                         and m.status >= 200)
        assert ok.status == 200 and "telephone-event" not in ok.body, ok.body
        caller.send_in_dialog("ACK", cseq=ok.cseq()[0])
        callee.next(want=lambda m: m.is_request and m.method == "ACK")
    # The callee re-offers (its events at 101): the caller is offered none, and the answer the
    # callee gets keeps them.
    callee.send_in_dialog("INVITE", body=sdp_offer(callee.rtp.ip, callee.rtp.port))
    reinv = caller.next(want=lambda m: m.is_request and m.method == "INVITE")
    assert "telephone-event" not in reinv.body and "101" not in m_formats(reinv.body), reinv.body
    caller.respond(reinv, 200, "OK", body=sdp_offer(caller.rtp.ip, caller.rtp.port, pts=(0, 8)))
    ok = callee.next(want=lambda m: not m.is_request and m.cseq()[1] == "INVITE"
                     and m.status >= 200)
    assert ok.status == 200 and "a=rtpmap:101 telephone-event/8000" in ok.body, ok.body
    callee.send_in_dialog("ACK", cseq=ok.cseq()[0])
    caller.next(want=lambda m: m.is_request and m.method == "ACK")

    caller.rtp.send(sdp_media(caller.dialog["remote_sdp"]), count=3, tag=b"G")
    caller.send_in_dialog("INFO", body="Signal=7\r\nDuration=120\r\n",
                          content_type="application/dtmf-relay")
    cseq = caller.dialog["cseq"]
    assert caller.next(want=lambda m: not m.is_request
                       and m.cseq() == (cseq, "INFO")).status == 200
    events = [p for p in parse(callee.rtp.receive(seconds=2, want=8)) if p["pt"] == 101]
    assert [struct.unpack("!BBH", e["payload"][:4])[0] for e in events] == [7] * 5, events
    assert caller.bye().status == 200
    callee.expect_bye()


def test_neither_with_telephone_event_passes_info_through(node):
    caller = Phone(node.sip_port, "7001", DOMAIN, PASSWORD)
    callee = Phone(node.sip_port, "7002", DOMAIN, PASSWORD)
    caller.register()
    callee.register()
    caller.call("7002", wait_final=False, body=sdp_offer(caller.rtp.ip, caller.rtp.port,
                                                          pts=(0, 8)))
    callee.answer(sdp=lambda inv: sdp_offer(callee.rtp.ip, callee.rtp.port, pts=(0, 8)))
    final = caller.next(want=lambda m: not m.is_request and m.cseq()[1] == "INVITE"
                        and m.status >= 200)
    caller.confirm(final)
    callee.next(want=lambda m: m.is_request and m.method == "ACK")
    caller.send_in_dialog("INFO", body="Signal=2\r\nDuration=200\r\n",
                          content_type="application/dtmf-relay")
    info = callee.next(want=lambda m: m.is_request and m.method == "INFO")
    assert info.header("content-type") == "application/dtmf-relay"
    assert info_body(info) == {"Signal": "2", "Duration": "200"}
    callee.respond(info, 200, "OK")
    cseq = caller.dialog["cseq"]
    assert caller.next(want=lambda m: not m.is_request
                       and m.cseq() == (cseq, "INFO")).status == 200
    assert not [d for d, _ in callee.rtp.receive(seconds=0.3) if d[1] & 0x7F == 101]
    assert caller.bye().status == 200
    callee.expect_bye()
    caller.close()
    callee.close()
