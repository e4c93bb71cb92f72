"""GET /v1/cluster and `tandemctl cluster` with the default Redis membership (one host, no
corosync): what an operator sees on one node, a second node appearing, and a stopped node
reported down once. The corosync side is in tests/cluster."""
import re
import time

import pytest

from harness import api, tandemctl, wait_for


@pytest.fixture(scope="module")
def node(stack):
    return stack.node("node1")


def members(node, key):
    status, body = api(node, "GET", "/v1/cluster", key)
    assert status == 200, body
    return body


def test_single_node_view(node, stack):
    body = members(node, stack.key)
    assert body["mode"] == "redis"
    assert body["quorate"] is True
    assert body["node"] == "node1"
    assert body["ring_id"] > 0
    [me] = body["members"]
    assert me == {"name": "node1", "nodeid": 0, "service_address": "127.0.0.1",
                  "sip_port": node.sip_port, "api_url": node.api, "role": "switch",
                  "self": True}
    status, health = api(node, "GET", "/v1/health")
    assert status == 200 and health["quorate"] is True


def test_needs_a_superadmin_key(node, stack):
    assert api(node, "GET", "/v1/cluster")[0] == 401
    status, t = api(node, "POST", "/v1/tenants", stack.key,
                    {"name": "Cluster", "domain": "cluster.example.com"})
    assert status == 201
    status, k = api(node, "POST", "/v1/api-keys", stack.key, {"tenant_id": t["id"]})
    assert status == 201
    status, body = api(node, "GET", "/v1/cluster", k["key"])
    assert status == 403, body


def test_second_node_joins_and_leaves(node, stack):
    second = stack.node("node2", cluster__role="switch")
    names = lambda n: sorted(m["name"] for m in members(n, stack.key)["members"])
    wait_for(lambda: names(node) == ["node1", "node2"] and names(second) == ["node1", "node2"],
             timeout=8, what="both nodes to list both")
    view = members(node, stack.key)
    other = next(m for m in view["members"] if m["name"] == "node2")
    assert other["self"] is False and other["sip_port"] == second.sip_port
    assert other["api_url"] == second.api
    ring = view["ring_id"]

    out = tandemctl("--api", node.api, "--key", stack.key, "cluster").stdout
    assert out.splitlines()[0].startswith("membership redis, quorate, ring ")
    assert re.search(r"^NAME\s+NODEID\s+SERVICE ADDRESS\s+SIP PORT\s+API\s+ROLE\s+SELF$", out, re.M)
    assert re.search(rf"^node1\s+0\s+127\.0\.0\.1\s+{node.sip_port}\s+\S+\s+switch\s+yes$", out, re.M)
    assert re.search(rf"^node2\s+0\s+127\.0\.0\.1\s+{second.sip_port}\s+\S+\s+switch\s+no$", out, re.M)

    # A node silent for cluster.dead_after_ms (3 s) is down: reported once, with a larger ring.
    assert second.stop() == 0
    started = time.monotonic()
    wait_for(lambda: names(node) == ["node1"], timeout=8, what="node2 to be dropped")
    assert time.monotonic() - started < 6
    assert members(node, stack.key)["ring_id"] > ring
    time.sleep(1.5)
    downs = re.findall(r"membership: member node2 \(nodeid 0\) down", node.log())
    assert len(downs) == 1, node.log()[-3000:]
