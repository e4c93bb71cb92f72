"""Calls through the B2BUA between scripted phones: digest on INVITE, ringing, answer, audio
both ways through the node's relay, hang-up from either side, busy, CANCEL, and a BYE that
reaches a different node from the INVITE."""
import json
import time

import pytest

from harness import api, live_call, wait_for
from sipphone import Phone, sdp_media

DOMAIN = "calls.tandem.test"
PASSWORD = "call-me-maybe-1"


@pytest.fixture(scope="module")
def env(stack):
    settings = dict(security__ban_failures=0, media__port_min=31000, media__port_max=31999)
    node1 = stack.node("node1", **settings)
    node2 = stack.node("node2", media__port_min=32000, media__port_max=32999,
                       security__ban_failures=0)
    status, tenant = api(node1, "POST", "/v1/tenants", stack.key, {"name": "Calls", "domain": DOMAIN})
    assert status == 201
    for ext in ("4001", "4002", "4003", "4004"):
        assert api(node1, "POST", f"/v1/tenants/{tenant['id']}/users", stack.key,
                   {"extension": ext, "password": PASSWORD})[0] == 201
    return stack, node1, node2


def phones(node, a="4001", b="4002"):
    caller, callee = Phone(node.sip_port, a, DOMAIN, PASSWORD), Phone(node.sip_port, b, DOMAIN,
                                                                       PASSWORD)
    caller.register()
    callee.register()
    return caller, callee


def call_and_answer(caller, callee, callee_name="4002"):
    caller.call(callee_name, wait_final=False)
    inv = callee.answer()
    responses = []
    while not responses or responses[-1].status < 200:
        responses.append(caller.next(want=lambda m: not m.is_request))
    caller.confirm(responses[-1])
    callee.next(want=lambda m: m.is_request and m.method == "ACK")
    return inv, responses


def audio_flows(caller, callee):
    """RTP from each phone to the address in the SDP it was given arrives at the other phone."""
    to_node_from_caller = sdp_media(caller.dialog["remote_sdp"])
    to_node_from_callee = sdp_media(callee.dialog["remote_sdp"])
    caller.rtp.send(to_node_from_caller, count=20, tag=b"C")
    got_b = callee.rtp.receive(seconds=3, want=20)
    callee.rtp.send(to_node_from_callee, count=20, tag=b"E")
    got_a = caller.rtp.receive(seconds=3, want=20)
    return got_a, got_b, to_node_from_caller, to_node_from_callee


def test_invite_without_credentials_gets_407(env):
    _, node1, _ = env
    caller, callee = phones(node1)
    caller.call("4002", wait_final=False)
    # The node challenged the INVITE for the caller's own domain; the phone answered it.
    challenge = caller.challenge
    assert challenge.status == 407
    assert f'realm="{DOMAIN}"' in challenge.header("proxy-authenticate")
    assert 'qop="auth"' in challenge.header("proxy-authenticate")
    assert caller.dialog["invite"].count("Proxy-Authorization") == 1
    caller.cancel()
    caller.close()
    callee.close()


def test_call_connects_with_audio_both_ways_and_caller_hangs_up(env):
    stack, node1, _ = env
    caller, callee = phones(node1)
    inv, responses = call_and_answer(caller, callee)
    assert [r.status for r in responses if r.status != 100] == [180, 200]
    # The callee is offered the node's media address, not the caller's.
    assert sdp_media(inv.body)[0] == "127.0.0.1" and sdp_media(inv.body)[1] != caller.rtp.port
    assert sdp_media(caller.dialog["remote_sdp"])[1] != callee.rtp.port
    assert inv.header("from").startswith('"Phone 4001"')
    got_a, got_b, node_a, node_b = audio_flows(caller, callee)
    assert len(got_b) == 20 and all(d[12:13] == b"C" for d, _ in got_b)
    assert len(got_a) == 20 and all(d[12:13] == b"E" for d, _ in got_a)
    # Relayed from the node's ports (anchored), payload untouched.
    assert {peer for _, peer in got_b} == {("127.0.0.1", sdp_media(inv.body)[1])}
    assert {peer for _, peer in got_a} == {node_a}
    # The call is a record in Redis while it lasts.
    uuid = stack.redis.cli("GET", f"tandem:dlg:{caller.dialog['call_id']}")
    record = json.loads(stack.redis.raw("GET", f"tandem:call:{uuid}"))
    assert record["caller"] == "4001" and record["callee"] == "4002"
    assert record["state"] == "confirmed" and record["node"] == "node1"
    ok = caller.bye()
    assert ok.status == 200
    callee.expect_bye()
    wait_for(lambda: stack.redis.cli("EXISTS", f"tandem:call:{uuid}") == "(integer) 0",
             timeout=5, what="the call record to be deleted")
    caller.close()
    callee.close()


def test_callee_hangs_up(env):
    _, node1, _ = env
    caller, callee = phones(node1)
    call_and_answer(caller, callee)
    callee.send_in_dialog("BYE")
    ok = callee.next(want=lambda m: not m.is_request and m.cseq()[1] == "BYE")
    assert ok.status == 200
    caller.expect_bye()
    caller.close()
    callee.close()


def test_busy_callee(env):
    _, node1, _ = env
    caller, callee = phones(node1)
    caller.call("4002", wait_final=False)
    callee.answer(ring=False, status=486, reason="Busy Here")
    final = caller.next(want=lambda m: not m.is_request and m.status >= 200)
    assert final.status == 486
    caller.close()
    callee.close()


def test_unregistered_callee_gets_480_and_unknown_gets_404(env):
    _, node1, _ = env
    caller = Phone(node1.sip_port, "4001", DOMAIN, PASSWORD)
    caller.register()
    assert caller.call("4004")[-1].status == 480
    assert caller.call("9999")[-1].status == 404
    caller.close()


def test_cancel_before_answer(env):
    _, node1, _ = env
    caller, callee = phones(node1)
    caller.call("4002", wait_final=False)
    inv = callee.next(want=lambda m: m.is_request and m.method == "INVITE")
    callee.respond(inv, 180, "Ringing", to_tag="t1")
    assert caller.next(want=lambda m: not m.is_request and m.status != 100).status == 180
    caller.cancel()
    final = caller.next(want=lambda m: not m.is_request and m.cseq()[1] == "INVITE"
                        and m.status >= 200)
    assert final.status == 487
    cancel = callee.next(want=lambda m: m.is_request and m.method == "CANCEL")
    callee.respond(cancel, 200, "OK")
    callee.respond(inv, 487, "Request Terminated", to_tag="t1")
    caller.close()
    callee.close()


def test_bye_sent_to_another_node_ends_the_call(env):
    stack, node1, node2 = env
    caller, callee = phones(node1)
    call_and_answer(caller, callee)
    uuid = stack.redis.cli("GET", f"tandem:dlg:{caller.dialog['call_id']}")
    caller.server = ("127.0.0.1", node2.sip_port)  # the load balancer now picks node2
    caller.dialog["target"] = caller.dialog["target"].replace(str(node1.sip_port),
                                                              str(node2.sip_port))
    ok = caller.bye()
    assert ok.status == 200
    callee.expect_bye()
    wait_for(lambda: stack.redis.cli("EXISTS", f"tandem:call:{uuid}") == "(integer) 0",
             timeout=5, what="the call record to be deleted")
    # node1 notices and releases the media it held for the call.
    wait_for(lambda: "ended through another node" in node1.log(), timeout=8,
             what="node1 to release the call's media")
    caller.close()
    callee.close()


@pytest.fixture(scope="module")
def quick(env):
    """A node with short timers, in the same cluster state."""
    stack, _, _ = env
    return stack.node("quick", security__ban_failures=0, media__port_min=33000,
                      media__port_max=33999, media__timeout=2, calls__answer_timeout=2)


def test_unanswered_call_times_out_with_480_and_the_phone_is_cancelled(env, quick):
    caller, callee = phones(quick, "4003", "4004")
    started = time.monotonic()
    caller.call("4004", wait_final=False)
    inv = callee.next(want=lambda m: m.is_request and m.method == "INVITE")
    callee.respond(inv, 180, "Ringing", to_tag="r1")
    final = caller.next(timeout=10, want=lambda m: not m.is_request and m.status >= 200)
    assert final.status == 480
    assert 1.5 < time.monotonic() - started < 8
    cancel = callee.next(want=lambda m: m.is_request and m.method == "CANCEL")
    callee.respond(cancel, 200, "OK")
    callee.respond(inv, 487, "Request Terminated", to_tag="r1")
    caller.close()
    callee.close()


def test_call_without_media_is_hung_up(env, quick):
    caller, callee = phones(quick, "4003", "4004")
    call_and_answer(caller, callee, "4004")
    # Neither phone sends RTP: both get a BYE from the node after media.timeout (2 s).
    callee.expect_bye(timeout=10)
    caller.expect_bye(timeout=10)
    assert "no media for too long" in quick.log()
    caller.close()
    callee.close()


def test_call_with_media_stays_up(env, quick):
    caller, callee = phones(quick, "4003", "4004")
    call_and_answer(caller, callee, "4004")
    deadline = time.monotonic() + 4  # twice the media timeout
    while time.monotonic() < deadline:
        caller.rtp.send(sdp_media(caller.dialog["remote_sdp"]), count=5)
        callee.rtp.receive(seconds=0.3)
    with pytest.raises(TimeoutError):
        callee.next(timeout=0.5, want=lambda m: m.is_request and m.method == "BYE")
    assert caller.bye().status == 200
    callee.expect_bye()
    caller.close()
    callee.close()


def test_live_calls_are_listed_and_hung_up_through_the_api(env):
    stack, node1, node2 = env
    status, tenants = api(node1, "GET", "/v1/tenants", stack.key)
    tenant = next(t for t in tenants if t["domain"] == DOMAIN)
    caller, callee = phones(node1)
    call_and_answer(caller, callee)
    # Any node's API sees the call (the record is in Redis), with both legs.
    call = live_call(node2, stack.key, tenant["id"], caller.dialog["call_id"])
    assert call["caller"] == "4001" and call["callee"] == "4002" and call["state"] == "confirmed"
    assert call["node"] == "node1" and call["b"]["contact"].startswith("sip:4002@")
    # Another tenant's key sees nothing of it.
    status, other = api(node1, "POST", "/v1/tenants", stack.key,
                        {"name": "Other", "domain": "other-calls.tandem.test"})
    status, key = api(node1, "POST", "/v1/api-keys", stack.key, {"tenant_id": other["id"]})
    assert api(node1, "GET", f"/v1/tenants/{tenant['id']}/calls", key["key"])[0] == 404
    assert api(node1, "DELETE", f"/v1/tenants/{tenant['id']}/calls/{call['uuid']}",
               key["key"])[0] == 404
    # Hang-up through node2's API: node1, which holds the media, sends BYE to both phones.
    status, body = api(node2, "DELETE", f"/v1/tenants/{tenant['id']}/calls/{call['uuid']}",
                       stack.key)
    assert status == 202 and body["status"] == "hanging up"
    caller.expect_bye(timeout=6)
    callee.expect_bye(timeout=6)
    wait_for(lambda: not [c for c in api(node1, "GET", f"/v1/tenants/{tenant['id']}/calls",
                                         stack.key)[1] if c["uuid"] == call["uuid"]],
             timeout=5, what="the call to leave the list")
    unknown = "00000000-0000-4000-8000-000000000000"
    assert api(node1, "DELETE", f"/v1/tenants/{tenant['id']}/calls/{unknown}",
               stack.key)[0] == 404
    caller.close()
    callee.close()


def reinvite(phone, direction):
    body = sdp_offer_with(phone, direction)
    phone.send_in_dialog("INVITE", body=body)
    cseq = phone.dialog["cseq"]
    final = phone.next(want=lambda m: not m.is_request and m.cseq() == (cseq, "INVITE")
                       and m.status >= 200)
    if final.status < 300:
        phone.send_in_dialog("ACK", cseq=cseq)
    return final


def sdp_offer_with(phone, direction):
    from sipphone import sdp_offer
    return sdp_offer(phone.rtp.ip, phone.rtp.port).replace("a=sendrecv", f"a={direction}")


def answer_reinvite(phone, direction):
    inv = phone.next(want=lambda m: m.is_request and m.method == "INVITE")
    phone.respond(inv, 200, "OK", body=sdp_offer_with(phone, direction))
    phone.next(want=lambda m: m.is_request and m.method == "ACK")
    return inv


def test_hold_and_unhold_through_reinvite(env):
    _, node1, _ = env
    caller, callee = phones(node1)
    inv, _ = call_and_answer(caller, callee)
    node_port_for_callee = sdp_media(inv.body)[1]
    # Hold: the caller's sendonly offer reaches the callee with the node's address and port.
    import threading
    t = threading.Thread(target=answer_reinvite, args=(callee, "recvonly"))
    t.start()
    final = reinvite(caller, "sendonly")
    t.join(10)
    assert final.status == 200 and "a=recvonly" in final.body
    # Unhold, then audio flows both ways again.
    t = threading.Thread(target=answer_reinvite, args=(callee, "sendrecv"))
    t.start()
    final = reinvite(caller, "sendrecv")
    t.join(10)
    assert final.status == 200 and sdp_media(final.body)[0] == "127.0.0.1"
    caller.rtp.send(sdp_media(final.body), count=10, tag=b"U")
    got = callee.rtp.receive(seconds=3, want=10)
    assert len(got) == 10 and {p for _, p in got} == {("127.0.0.1", node_port_for_callee)}
    assert caller.bye().status == 200
    callee.expect_bye()
    caller.close()
    callee.close()


def test_dtmf_events_and_info_pass_through(env):
    _, node1, _ = env
    caller, callee = phones(node1)
    inv, _ = call_and_answer(caller, callee)
    # RFC 4733 telephone-event packets (PT 101) are relayed like audio.
    caller.rtp.send(sdp_media(caller.dialog["remote_sdp"]), count=5, pt=101, tag=b"5")
    got = callee.rtp.receive(seconds=3, want=5)
    assert len(got) == 5 and all(d[1] & 0x7F == 101 for d, _ in got)
    # SIP INFO (application/dtmf-relay) reaches the other party, and its answer comes back.
    d = caller.dialog
    d["cseq"] += 1
    body = "Signal=5\r\nDuration=160\r\n"
    info = "\r\n".join([
        f"INFO {d['target']} SIP/2.0",
        f"Via: SIP/2.0/UDP {caller.ip}:{caller.port};branch=z9hG4bKinfo{d['cseq']};rport",
        "Max-Forwards: 70", f"From: {d['from_']}", f"To: {d['to']}", f"Call-ID: {d['call_id']}",
        f"CSeq: {d['cseq']} INFO", "Content-Type: application/dtmf-relay",
        f"Content-Length: {len(body)}", "", body])
    caller.send(info)
    got = callee.next(want=lambda m: m.is_request and m.method == "INFO")
    assert "Signal=5" in got.body
    callee.respond(got, 200, "OK")
    ok = caller.next(want=lambda m: not m.is_request and m.cseq()[1] == "INFO")
    assert ok.status == 200
    assert caller.bye().status == 200
    callee.expect_bye()
    caller.close()
    callee.close()


def test_media_capacity_limit_answers_503(env):
    stack, _, _ = env
    tiny = stack.node("tiny", security__ban_failures=0, media__port_min=36000,
                      media__port_max=36099, media__max_sessions=1)
    caller, callee = phones(tiny, "4001", "4002")
    call_and_answer(caller, callee)
    second = Phone(tiny.sip_port, "4003", DOMAIN, PASSWORD)
    second.register()
    assert second.call("4002")[-1].status == 503
    assert caller.bye().status == 200
    callee.expect_bye()
    for p in (caller, callee, second):
        p.close()


def test_originate_through_the_api_connects_two_extensions(env):
    stack, node1, _ = env
    status, tenants = api(node1, "GET", "/v1/tenants", stack.key)
    tenant = next(t for t in tenants if t["domain"] == DOMAIN)
    first, second = phones(node1, "4001", "4002")
    path = f"/v1/tenants/{tenant['id']}/calls"
    assert api(node1, "POST", path, stack.key, {"from": "9999", "to": "4002"})[1]["field"] == "from"
    assert api(node1, "POST", path, stack.key, {"from": "4001", "to": "a b"})[1]["field"] == "to"
    assert api(node1, "POST", path, stack.key, {"from": "4001", "to": "4002", "x": 1})[0] == 422
    status, body = api(node1, "POST", path, stack.key, {"from": "4001", "to": "4002"})
    assert status == 202 and body["status"] == "originating"
    # The node calls 4001 first, showing whom it will be connected to.
    inv_a = first.answer()
    assert inv_a.header("from").startswith('"4002"')
    first.next(want=lambda m: m.is_request and m.method == "ACK")
    # Then 4002, with 4001's answer as the offer (anchored on the node).
    inv_b = second.answer()
    second.next(want=lambda m: m.is_request and m.method == "ACK")
    assert sdp_media(inv_b.body)[0] == "127.0.0.1"
    first.rtp.send(sdp_media(inv_a.body), count=10, tag=b"O")
    assert len(second.rtp.receive(seconds=3, want=10)) == 10
    second.rtp.send(sdp_media(inv_b.body), count=10, tag=b"P")
    assert len(first.rtp.receive(seconds=3, want=10)) == 10
    calls = api(node1, "GET", path, stack.key)[1]
    assert [c["state"] for c in calls if c["uuid"] == body["uuid"]] == ["confirmed"]
    # The first party hangs up: the other gets the BYE.
    first.dialog["cseq"] = 5
    first.send_in_dialog("BYE")
    assert first.next(want=lambda m: not m.is_request and m.cseq()[1] == "BYE").status == 200
    second.expect_bye()
    first.close()
    second.close()


def test_tandemctl_originates_lists_and_hangs_up_a_call(env):
    stack, node1, _ = env
    from harness import tandemctl
    status, tenants = api(node1, "GET", "/v1/tenants", stack.key)
    tid = next(t for t in tenants if t["domain"] == DOMAIN)["id"]
    ctl = ["--api", node1.api, "--key", stack.key]
    first, second = phones(node1, "4001", "4002")
    uuid = tandemctl(*ctl, "originate", "--tenant", tid, "--from", "4001", "--to", "4002").stdout
    uuid = uuid.strip()
    assert len(uuid) == 36
    first.answer()
    first.next(want=lambda m: m.is_request and m.method == "ACK")
    second.answer()
    second.next(want=lambda m: m.is_request and m.method == "ACK")
    table = tandemctl(*ctl, "calls", "--tenant", tid).stdout
    assert uuid in table and "confirmed" in table
    tandemctl(*ctl, "hangup", "--tenant", tid, uuid)
    first.expect_bye(timeout=6)
    second.expect_bye(timeout=6)
    assert tandemctl(*ctl, "hangup", "--tenant", tid, uuid, check=False).returncode == 1
    first.close()
    second.close()


def test_a_node_stopping_answers_a_relayed_request_still_open_and_frees_it(env):
    """A re-INVITE relayed to a callee that never answers, then the node stops: the caller
    gets a final answer (503), and the node exits cleanly (under the sanitizers a leaked relay
    makes the exit code non-zero)."""
    stack, _, _ = env
    node = stack.node("stopping", security__ban_failures=0, media__port_min=34000,
                      media__port_max=34999)
    caller, callee = phones(node, "4003", "4004")
    call_and_answer(caller, callee, "4004")
    caller.send_in_dialog("INVITE", body=sdp_offer_with(caller, "sendonly"))
    cseq = caller.dialog["cseq"]
    callee.next(want=lambda m: m.is_request and m.method == "INVITE")  # and says nothing
    assert node.stop() == 0, node.log()[-3000:]
    final = caller.next(want=lambda m: not m.is_request and m.cseq() == (cseq, "INVITE")
                        and m.status >= 200)
    assert final.status == 503, final.raw
    for phone in (caller, callee):
        phone.registered = False
        phone.close()
