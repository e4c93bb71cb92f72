"""Session timers (RFC 4028) through the B2BUA: 422 below the node's Min-SE, the negotiated
Session-Expires on both legs, refreshes through any node keeping a call up, and the node ending
a session nobody refreshed (BYE to both, CDR cause 102), also after its owner restarted."""
import json
import time

import pytest

from harness import api, wait_for
from sipphone import Phone

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
