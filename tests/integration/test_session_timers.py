"""Session timers (RFC 4028) through the B2BUA: 422 below the node's Min-SE, the negotiated
Session-Expires on both legs, refreshes through any node keeping a call up, and the node ending
a session nobody refreshed (BYE to both, CDR cause 102), also after its owner restarted."""
import json
import time

import pytest

from harness import api, wait_for
from sipphone import Phone, sdp_offer

DOMAIN = "timers.tandem.test"
PASSWORD = "refresh-me-1"
# calls.min_se 2 s so a session of 3 s (ended 1 s early, RFC 4028 10) fits in a test.
SETTINGS = dict(security__ban_failures=0, calls__min_se=2, calls__session_expires=0)


@pytest.fixture(scope="module")
def nodes(stack):
    node1 = stack.node("timers1", media__port_min=27000, media__port_max=27499, **SETTINGS)
    node2 = stack.node("timers2", media__port_min=27500, media__port_max=27999, **SETTINGS)
    status, tenant = api(node1, "POST", "/v1/tenants", stack.key,
                         {"name": "Timers", "domain": DOMAIN})
    assert status == 201
    for ext in ("6001", "6002"):
        assert api(node1, "POST", f"/v1/tenants/{tenant['id']}/users", stack.key,
                   {"extension": ext, "password": PASSWORD})[0] == 201
    return stack, node1, node2


@pytest.fixture
def phones(nodes):
    _, node1, _ = nodes
    caller = Phone(node1.sip_port, "6001", DOMAIN, PASSWORD)
    callee = Phone(node1.sip_port, "6002", DOMAIN, PASSWORD)
    caller.register()
    callee.register()
    yield caller, callee
    caller.close()
    callee.close()


TIMER = ["Supported: timer", "Session-Expires: 3;refresher=uac"]


def connect(caller, callee):
    """A call whose caller asks for a 3 s session it refreshes; returns (INVITE at the callee,
    the caller's 200)."""
    caller.call("6002", wait_final=False, extra=TIMER)
    inv = callee.answer()
    final = caller.next(want=lambda m: not m.is_request and m.cseq()[1] == "INVITE"
                        and m.status >= 200)
    assert final.status == 200
    caller.confirm(final)
    callee.next(want=lambda m: m.is_request and m.method == "ACK")
    return inv, final


def refresh(caller, callee):
    """One UPDATE refresh without SDP from the caller, answered by the callee; the caller's
    200."""
    caller.send_in_dialog("UPDATE", extra=["Session-Expires: 3;refresher=uac"])
    cseq = caller.dialog["cseq"]
    upd = callee.next(want=lambda m: m.is_request and m.method == "UPDATE")
    callee.respond(upd, 200, "OK")
    return upd, caller.next(want=lambda m: not m.is_request and m.cseq() == (cseq, "UPDATE"))


def cdr(stack, call_id):
    out = wait_for(lambda: stack.pg.psql(
        f"SELECT row_to_json(c) FROM cdrs c WHERE a_call_id = '{call_id}'"), timeout=15,
        what="the CDR")
    return json.loads(out)


def test_session_expires_below_min_se_gets_422(phones):
    caller, _ = phones
    responses = caller.call("6002", extra=["Supported: timer", "Session-Expires: 1"])
    assert responses[-1].status == 422
    assert responses[-1].header("min-se") == "2"


def test_unrefreshed_session_is_ended_with_bye_to_both_and_cause_102(nodes, phones):
    stack, _, _ = nodes
    caller, callee = phones
    started = time.monotonic()
    inv, final = connect(caller, callee)
    # The callee is asked for the caller's interval, the caller refreshing through the node.
    assert inv.header("session-expires") == "3;refresher=uac"
    assert inv.header("min-se") == "2" and "timer" in inv.header("supported")
    assert final.header("session-expires") == "3;refresher=uac"
    assert "timer" in final.header("require")
    uuid = stack.redis.cli("GET", f"tandem:dlg:{caller.dialog['call_id']}")
    record = json.loads(stack.redis.raw("GET", f"tandem:call:{uuid}"))
    assert record["session_expires"] == 3 and record["session_refresher"] == "caller"
    # Nobody refreshes: the node ends the session 1 s before it would expire.
    bye_b = callee.expect_bye(timeout=8)
    bye_a = caller.expect_bye(timeout=8)
    assert 1.5 < time.monotonic() - started < 6
    for bye in (bye_a, bye_b):
        assert "cause=408" in bye.header("reason")
    row = cdr(stack, caller.dialog["call_id"])
    assert row["q850_cause"] == 102 and row["hangup_by"] == "system"
    assert row["sip_status"] == 200


def test_refreshes_through_either_node_keep_the_session_up(nodes, phones):
    stack, node1, node2 = nodes
    caller, callee = phones
    connect(caller, callee)
    deadline = time.monotonic() + 6  # twice the session interval
    use_node2 = False
    while time.monotonic() < deadline:
        if use_node2:  # the refresh reaches the other node, as after a load balancer's change
            caller.server = ("127.0.0.1", node2.sip_port)
            caller.dialog["target"] = caller.dialog["target"].replace(str(node1.sip_port),
                                                                      str(node2.sip_port))
        upd, ok = refresh(caller, callee)
        assert ok.status == 200 and ok.header("session-expires") == "3;refresher=uac"
        assert upd.header("session-expires") == "3;refresher=uac"
        use_node2 = not use_node2
        time.sleep(0.8)
    caller.server = ("127.0.0.1", node1.sip_port)  # the CDR is written where the BYE lands
    caller.dialog["target"] = caller.dialog["target"].replace(str(node2.sip_port),
                                                              str(node1.sip_port))
    with pytest.raises(TimeoutError):
        callee.next(timeout=0.3, want=lambda m: m.is_request and m.method == "BYE")
    assert caller.bye().status == 200
    callee.expect_bye()
    row = cdr(stack, caller.dialog["call_id"])
    assert row["q850_cause"] == 16 and row["hangup_by"] == "caller"


def test_expiry_survives_a_restart_of_the_owner(nodes, phones):
    stack, node1, _ = nodes
    caller, callee = phones
    connect(caller, callee)
    # The record and the owner's schedule are written right after the answer; the crash comes
    # once they are in Redis (a crash before that loses the call, timer or not).
    wait_for(lambda: caller.dialog["call_id"] in stack.redis.raw(
        "ZRANGE", "tandem:stexp:timers1", "0", "-1"), timeout=5, what="the schedule")
    node1.proc.kill()  # a crash: nothing written on the way down
    node1.proc.wait()
    node1.start()
    callee.expect_bye(timeout=10)
    caller.expect_bye(timeout=10)
    assert "session timer expired" in node1.log()
    row = cdr(stack, caller.dialog["call_id"])
    assert row["q850_cause"] == 102 and row["hangup_by"] == "system"
    uuid = row["call_uuid"]
    wait_for(lambda: stack.redis.cli("EXISTS", f"tandem:call:{uuid}") == "(integer) 0",
             timeout=5, what="the call record to be deleted")


def responses_to_invite(caller):
    """The caller's responses to its INVITE up to the final one."""
    out = []
    while not out or out[-1].status < 200:
        out.append(caller.next(want=lambda m: not m.is_request and m.cseq()[1] == "INVITE"
                               and m.header("call-id") == caller.dialog["call_id"]))
    return out


def too_small(phone, inv, min_se):
    """Answers inv 422 with the phone's Min-SE; returns the INVITE the node sends again."""
    phone.respond(inv, 422, "Session Interval Too Small", to_tag="tooshort",
                  extra=[f"Min-SE: {min_se}"])
    again = phone.next(want=lambda m: m.is_request and m.method == "INVITE")
    # The same dialog identifiers, a new CSeq (RFC 4028 7.4).
    assert again.header("call-id") == inv.header("call-id")
    assert again.tag("from") == inv.tag("from")
    assert again.cseq()[0] > inv.cseq()[0]
    return again


def answer_with_timer(phone, inv, session_expires):
    tag = "timed"
    phone.respond(inv, 200, "OK", body=sdp_offer(phone.rtp.ip, phone.rtp.port), to_tag=tag,
                  extra=[f"Session-Expires: {session_expires}", "Require: timer"])
    phone.callee_dialog(inv, tag)
    phone.next(want=lambda m: m.is_request and m.method == "ACK"
               and m.header("call-id") == inv.header("call-id"))


def test_callee_min_se_gets_a_retried_invite_and_the_raised_interval(nodes, phones):
    stack, _, _ = nodes
    caller, callee = phones
    caller.call("6002", wait_final=False, extra=TIMER)
    first = callee.next(want=lambda m: m.is_request and m.method == "INVITE")
    assert first.header("session-expires") == "3;refresher=uac"
    again = too_small(callee, first, 5)
    assert again.header("session-expires") == "5;refresher=uac"
    assert again.header("min-se") == "5"
    answer_with_timer(callee, again, "5;refresher=uac")
    responses = responses_to_invite(caller)
    # The caller never sees the callee's 422; its session runs at the raised interval.
    assert [r.status for r in responses if r.status >= 300] == []
    final = responses[-1]
    assert final.status == 200 and final.header("session-expires") == "5;refresher=uac"
    caller.confirm(final)
    uuid = stack.redis.cli("GET", f"tandem:dlg:{caller.dialog['call_id']}")
    wait_for(lambda: json.loads(stack.redis.raw("GET", f"tandem:call:{uuid}") or "{}")
             .get("session_expires") == 5, timeout=5, what="the raised interval in the record")
    assert caller.bye().status == 200
    callee.expect_bye()


def test_callee_min_se_above_the_nodes_limit_fails_the_call_cleanly(phones):
    caller, callee = phones
    caller.call("6002", wait_final=False, extra=TIMER)
    first = callee.next(want=lambda m: m.is_request and m.method == "INVITE")
    callee.respond(first, 422, "Session Interval Too Small", to_tag="toolong",
                   extra=["Min-SE: 90000"])  # above a day, the node's limit
    final = responses_to_invite(caller)[-1]
    caller._ack(caller.dialog["invite"], final)
    assert final.status == 500
    with pytest.raises(TimeoutError):
        callee.next(timeout=1, want=lambda m: m.is_request and m.method == "INVITE")


@pytest.fixture(scope="module")
def originating(nodes):
    """A node asking for 3 s sessions by itself (calls.session_expires), and the tenant."""
    stack, node1, _ = nodes
    node3 = stack.node("timers3", media__port_min=23500, media__port_max=23999,
                       **dict(SETTINGS, calls__session_expires=3))
    tenant = next(t for t in api(node1, "GET", "/v1/tenants", stack.key)[1]
                  if t["domain"] == DOMAIN)
    return stack, node3, tenant


def test_originated_call_has_session_timers_and_ends_unrefreshed(originating):
    stack, node3, tenant = originating
    first = Phone(node3.sip_port, "6001", DOMAIN, PASSWORD)
    second = Phone(node3.sip_port, "6002", DOMAIN, PASSWORD)
    first.register()
    second.register()
    status, body = api(node3, "POST", f"/v1/tenants/{tenant['id']}/calls", stack.key,
                       {"from": "6001", "to": "6002"})
    assert status == 202
    # The party called first is asked for the node's interval, and to refresh it.
    inv_a = first.next(want=lambda m: m.is_request and m.method == "INVITE")
    assert inv_a.header("session-expires") == "3;refresher=uas"
    assert inv_a.header("min-se") == "2" and "timer" in inv_a.header("supported")
    # It insists on 4 s at least: asked again, the 422 goes no further.
    inv_a = too_small(first, inv_a, 4)
    assert inv_a.header("session-expires") == "4;refresher=uas"
    assert inv_a.header("min-se") == "4"
    answer_with_timer(first, inv_a, "4;refresher=uas")
    # The other party is asked for that session, refreshed by the first party (as a caller's).
    inv_b = second.next(want=lambda m: m.is_request and m.method == "INVITE")
    assert inv_b.header("session-expires") == "4;refresher=uac"
    assert inv_b.header("min-se") == "4" and "timer" in inv_b.header("supported")
    answer_with_timer(second, inv_b, "4;refresher=uac")
    # Nobody refreshes: the node ends the call, BYE to both with the session timer's reason.
    bye_b = second.expect_bye(timeout=10)
    bye_a = first.expect_bye(timeout=10)
    for bye in (bye_a, bye_b):
        assert "cause=408" in bye.header("reason")
    row = cdr(stack, inv_a.header("call-id"))
    assert row["q850_cause"] == 102 and row["hangup_by"] == "system"
    first.close()
    second.close()


def test_originated_call_whose_first_party_has_no_timers_asks_the_other_to_refresh(originating):
    stack, node3, tenant = originating
    first = Phone(node3.sip_port, "6001", DOMAIN, PASSWORD)
    second = Phone(node3.sip_port, "6002", DOMAIN, PASSWORD)
    first.register()
    second.register()
    assert api(node3, "POST", f"/v1/tenants/{tenant['id']}/calls", stack.key,
               {"from": "6001", "to": "6002"})[0] == 202
    inv_a = first.answer()  # a plain 200: no Session-Expires, no timer support
    assert inv_a.header("session-expires") == "3;refresher=uas"
    first.next(want=lambda m: m.is_request and m.method == "ACK")
    # The first party will not refresh: the other is asked to, for the node's interval.
    inv_b = second.next(want=lambda m: m.is_request and m.method == "INVITE")
    assert inv_b.header("session-expires") == "3;refresher=uas"
    assert inv_b.header("min-se") == "2"
    answer_with_timer(second, inv_b, "3;refresher=uas")
    # It does not refresh either: ended like any call.
    bye_b = second.expect_bye(timeout=10)
    bye_a = first.expect_bye(timeout=10)
    for bye in (bye_a, bye_b):
        assert "cause=408" in bye.header("reason")
    row = cdr(stack, inv_a.header("call-id"))
    assert row["q850_cause"] == 102 and row["hangup_by"] == "system"
    first.close()
    second.close()
