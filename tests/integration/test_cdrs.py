"""CDRs: one row per call in PostgreSQL with the right fields (answered, busy), none lost and
none duplicated while PostgreSQL is down (spooled, replayed when it is back, also across a node
restart), and the REST API / tandemctl view with paging and tenant isolation."""
import json
import os
import time

import pytest

from harness import api, tandemctl, wait_for
from sipphone import Phone

DOMAIN = "cdrs.tandem.test"
OTHER = "other-cdrs.tandem.test"
PASSWORD = "bill-me-later-1"


@pytest.fixture(scope="module")
def env(stack):
    node = stack.node("node1", security__ban_failures=0, media__port_min=34000,
                      media__port_max=34999, cdr__flush_ms=200)
    status, tenant = api(node, "POST", "/v1/tenants", stack.key, {"name": "Cdrs", "domain": DOMAIN})
    assert status == 201
    for ext in ("5001", "5002"):
        assert api(node, "POST", f"/v1/tenants/{tenant['id']}/users", stack.key,
                   {"extension": ext, "password": PASSWORD})[0] == 201
    status, other = api(node, "POST", "/v1/tenants", stack.key, {"name": "Other", "domain": OTHER})
    assert status == 201
    status, key = api(node, "POST", "/v1/api-keys", stack.key, {"tenant_id": other["id"]})
    assert status == 201
    caller = Phone(node.sip_port, "5001", DOMAIN, PASSWORD)
    callee = Phone(node.sip_port, "5002", DOMAIN, PASSWORD)
    caller.register()
    callee.register()
    yield {"stack": stack, "node": node, "tenant": tenant["id"], "other_key": key["key"],
           "caller": caller, "callee": callee, "calls": []}
    caller.close()
    callee.close()


def answered_call(caller, callee, seconds=0.0):
    """Caller calls, callee answers, caller hangs up after seconds; returns A's Call-ID."""
    caller.call("5002", wait_final=False)
    callee.answer()
    final = caller.next(want=lambda m: not m.is_request and m.status >= 200)
    assert final.status == 200
    caller.confirm(final)
    callee.next(want=lambda m: m.is_request and m.method == "ACK")
    time.sleep(seconds)
    assert caller.bye().status == 200
    callee.expect_bye()
    return caller.dialog["call_id"]


def cdrs(stack, call_ids):
    ids = ", ".join(f"'{c}'" for c in call_ids)
    out = stack.pg.psql(f"SELECT row_to_json(c) FROM cdrs c WHERE a_call_id IN ({ids}) "
                        "ORDER BY id")
    return [json.loads(line) for line in out.splitlines() if line]


def wait_cdrs(stack, call_ids, timeout=15):
    """Waits until every call has its row; returns the rows (one per call, checked)."""
    rows = wait_for(lambda: (lambda r: r if {x["a_call_id"] for x in r} == set(call_ids)
                             else None)(cdrs(stack, call_ids)),
                    timeout=timeout, what=f"CDRs of {call_ids}")
    assert len(rows) == len(call_ids), rows  # exactly once each
    return rows


def spool_lines(node):
    path = os.path.join(node.dir, "cdr.spool")
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return sum(1 for line in f if line.endswith("\n"))


def test_answered_call_leaves_one_cdr(env):
    stack, tenant = env["stack"], env["tenant"]
    call_id = answered_call(env["caller"], env["callee"], seconds=1.0)
    env["calls"].append(call_id)
    (row,) = wait_cdrs(stack, [call_id])
    assert row["tenant_id"] == tenant
    assert row["caller"] == "5001" and row["callee_dialled"] == "5002"
    assert row["callee_routed"].startswith("sip:5002@")
    assert row["answer_at"] and row["end_at"] and row["start_at"] and row["progress_at"]
    assert 500 <= row["billsec_ms"] <= 5000
    assert row["duration_ms"] >= row["billsec_ms"]
    assert row["sip_status"] == 200 and row["q850_cause"] == 16
    assert row["hangup_by"] == "caller" and row["node"] == "node1"
    assert row["b_call_id"] and row["failover"] is False


def test_busy_call_leaves_a_cdr_without_answer(env):
    stack, caller, callee = env["stack"], env["caller"], env["callee"]
    caller.call("5002", wait_final=False)
    callee.answer(ring=False, status=486, reason="Busy Here")
    final = caller.next(want=lambda m: not m.is_request and m.status >= 200)
    assert final.status == 486
    caller._ack(caller.dialog["invite"], final)  # else its retransmissions reach later tests
    call_id = caller.dialog["call_id"]
    env["calls"].append(call_id)
    (row,) = wait_cdrs(stack, [call_id])
    assert row["billsec_ms"] == 0 and row["answer_at"] is None
    assert row["sip_status"] == 486 and row["q850_cause"] == 17


def test_cdrs_are_spooled_while_postgres_is_down_and_replayed_once(env):
    stack, node, caller, callee = env["stack"], env["node"], env["caller"], env["callee"]
    # A call is up when PostgreSQL goes away.
    caller.call("5002", wait_final=False)
    callee.answer()
    final = caller.next(want=lambda m: not m.is_request and m.status >= 200)
    caller.confirm(final)
    callee.next(want=lambda m: m.is_request and m.method == "ACK")
    stack.pg.stop()
    try:
        assert caller.bye().status == 200
        callee.expect_bye()
        first = caller.dialog["call_id"]
        # Calls still work: users come from the node's cache, live state from Redis.
        second = answered_call(caller, callee, seconds=0.2)
        wait_for(lambda: spool_lines(node) >= 2, timeout=15, what="both CDRs in the spool")
    finally:
        stack.pg.start()
    env["calls"] += [first, second]
    rows = wait_cdrs(stack, [first, second], timeout=30)
    assert [r["a_call_id"] for r in rows] == [first, second]  # replayed in order
    wait_for(lambda: "spool replayed" in node.log(), timeout=10, what="the replay in the log")
    assert "replaying spool" in node.log()
    wait_for(lambda: not os.path.exists(os.path.join(node.dir, "cdr.spool")), timeout=10,
             what="the replayed spool to be removed")
    uuids = [r["call_uuid"] for r in rows]
    assert stack.pg.psql("SELECT count(*) FROM cdrs WHERE call_uuid IN ("
                         + ", ".join(f"'{u}'" for u in uuids) + ")") == "2"


def test_api_lists_cdrs_with_paging_and_tenant_isolation(env):
    stack, node, tenant = env["stack"], env["node"], env["tenant"]
    base = f"/v1/tenants/{tenant}/cdrs"
    status, body = api(node, "GET", base, stack.key)
    assert status == 200 and body["page"] == 1 and body["next_page"] is None
    assert [r["a_call_id"] for r in body["items"]] == env["calls"]
    item = body["items"][0]
    assert isinstance(item["billsec_ms"], int) and item["start_at"].endswith("Z")
    status, p1 = api(node, "GET", base + "?per_page=1", stack.key)
    assert status == 200 and len(p1["items"]) == 1 and p1["next_page"] == 2
    status, p2 = api(node, "GET", base + "?per_page=1&page=2", stack.key)
    assert status == 200 and len(p2["items"]) == 1
    assert p2["items"][0]["call_uuid"] == body["items"][1]["call_uuid"]
    assert p1["items"][0]["call_uuid"] == body["items"][0]["call_uuid"]
    # Time range: all of them since 2000, none from next year on.
    status, r = api(node, "GET", base + "?from=2000-01-01&to=2999-01-01T00:00:00%2B01:00", stack.key)
    assert status == 200 and len(r["items"]) == len(env["calls"])
    status, r = api(node, "GET", base + f"?from={time.gmtime().tm_year + 1}-01-01", stack.key)
    assert status == 200 and r["items"] == []
    for query, field in (("from=yesterday", "from"), ("to=2026-02-30", "to"),
                         ("from=2026-01-01T10:00:00", "from"), ("page=0", "page"),
                         ("page=x", "page"), ("per_page=501", "per_page"),
                         ("from=2026-02-01&to=2026-01-01", "to")):
        status, err = api(node, "GET", f"{base}?{query}", stack.key)
        assert status == 422 and err["field"] == field, (query, err)
    # Another tenant's key does not see this tenant's CDRs.
    assert api(node, "GET", base, env["other_key"])[0] == 404
    # tandemctl: a table, and the raw JSON.
    ctl = ["--api", node.api, "--key", stack.key]
    out = tandemctl(*ctl, "cdrs", "--tenant", tenant, "--per-page", "1").stdout
    assert out.splitlines()[0].startswith("START") and "5001" in out
    j = json.loads(tandemctl(*ctl, "--json", "cdrs", "--tenant", tenant, "--page", "2",
                             "--per-page", "1", "--from", "2000-01-01T00:00:00+00:00").stdout)
    assert j["items"][0]["call_uuid"] == body["items"][1]["call_uuid"]


def test_spool_left_by_a_stopped_node_is_replayed_at_start(env):
    stack, node, caller, callee = env["stack"], env["node"], env["caller"], env["callee"]
    # PostgreSQL's last restart marked the cached users stale; registering fetches them again.
    caller.register()
    callee.register()
    stack.pg.stop()
    try:
        call_id = answered_call(caller, callee)
        wait_for(lambda: spool_lines(node) >= 1, timeout=15, what="the CDR in the spool")
        assert node.stop() == 0
    finally:
        stack.pg.start()
    assert spool_lines(node) == 1
    node.start()
    (row,) = wait_cdrs(stack, [call_id], timeout=30)
    assert row["sip_status"] == 200 and row["hangup_by"] == "caller"
    assert "from before; replaying it first" in node.log()
    wait_for(lambda: not os.path.exists(os.path.join(node.dir, "cdr.spool")), timeout=10,
             what="the replayed spool to be removed")
