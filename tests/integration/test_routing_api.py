"""Routing provisioning against a real tandemd, PostgreSQL and Redis: gateways, DIDs and routes
through the REST API and tandemctl, and the B2BUA's read queries of docs/routing.md run verbatim.

Covers CRUD, 422 naming the field, 409 on duplicates, the write-only gateway password, tenant
isolation, NOTIFY on tandem_routing and 503 without PostgreSQL (last)."""
import os
import re
import subprocess
import uuid

import pytest

from harness import SOURCE, api, tandemctl, wait_for

GW1 = "0b8a4c1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b"


@pytest.fixture(scope="module")
def node(stack):
    return stack.node("rt1")


def new_tenant(node, key, prefix):
    name = prefix + uuid.uuid4().hex[:8]
    status, body = api(node, "POST", "/v1/tenants", key,
                       {"name": name, "domain": f"{name}.example.test"})
    assert status == 201, body
    return body


def create(node, key, tenant, kind, body, expect=201):
    status, reply = api(node, "POST", f"/v1/tenants/{tenant['id']}/{kind}", key, body)
    assert status == expect, reply
    return reply


def test_gateway_crud_and_write_only_password(node, stack):
    t = new_tenant(node, stack.key, "gw")
    path = f"/v1/tenants/{t['id']}/gateways"
    g = create(node, stack.key, t, "gateways",
               {"name": "carrier-a", "host": "sip.carrier-a.example", "username": "acct",
                "password": "s3cret", "register": True, "acl_cidrs": ["192.0.2.0/24"]})
    assert "password" not in g and g["has_password"] is True
    assert g["port"] == 5060 and g["transport"] == "udp" and g["register_expires"] == 3600
    assert g["ping_interval"] == 30 and g["acl_cidrs"] == ["192.0.2.0/24"]
    assert g["failover_statuses"] == [408, 500, 502, 503, 504]
    assert g["max_calls"] is None and g["max_cps"] is None and g["caller_id_mode"] == "pai"
    assert g["originate_timeout_ms"] == 5000 and g["progress_timeout_ms"] == 30000
    assert g["bridge_answer_timeout_ms"] == 120000 and g["enabled"] is True
    assert g["tenant_id"] == t["id"]
    # Stored as given: a client credential for the gateway's digest challenges.
    assert stack.pg.psql(f"SELECT password FROM gateways WHERE id = '{g['id']}'") == "s3cret"

    status, listed = api(node, "GET", path, stack.key)
    assert status == 200 and listed == [g]
    status, got = api(node, "GET", f"{path}/{g['id']}", stack.key)
    assert status == 200 and got == g

    status, p = api(node, "PATCH", f"{path}/{g['id']}", stack.key,
                    {"port": 5080, "transport": "tcp", "max_calls": 30, "max_cps": 2.5,
                     "failover_statuses": [503], "acl_cidrs": ["198.51.100.0/24", "2001:db8::/32"],
                     "ping_interval": 0, "caller_id_mode": "rpid"})
    assert status == 200, p
    assert (p["port"], p["transport"], p["max_calls"], p["max_cps"]) == (5080, "tcp", 30, 2.5)
    assert p["acl_cidrs"] == ["198.51.100.0/24", "2001:db8::/32"] and p["failover_statuses"] == [503]
    assert p["has_password"] is True and "password" not in p and p["name"] == "carrier-a"
    # Registering needs the credentials: the stored row decides on PATCH.
    status, reply = api(node, "PATCH", f"{path}/{g['id']}", stack.key, {"password": None})
    assert status == 422 and reply["field"] == "password", reply
    status, p = api(node, "PATCH", f"{path}/{g['id']}", stack.key,
                    {"register": False, "password": None, "max_calls": None})
    assert status == 200 and p["has_password"] is False and p["max_calls"] is None
    assert stack.pg.psql(f"SELECT password IS NULL FROM gateways WHERE id = '{g['id']}'") == "t"

    status, _ = api(node, "DELETE", f"{path}/{g['id']}", stack.key)
    assert status == 204
    assert api(node, "GET", f"{path}/{g['id']}", stack.key)[0] == 404
    assert api(node, "DELETE", f"{path}/{g['id']}", stack.key)[0] == 404
    assert api(node, "PATCH", f"{path}/{g['id']}", stack.key, {"port": 1})[0] == 404
    assert api(node, "GET", f"/v1/tenants/{uuid.uuid4()}/gateways", stack.key)[0] == 404
    assert api(node, "POST", f"/v1/tenants/{uuid.uuid4()}/gateways", stack.key,
               {"name": "x", "host": "192.0.2.1"})[0] == 404


@pytest.mark.parametrize("body,field", [
    ({"host": "192.0.2.1"}, "name"),
    ({"name": "gw"}, "host"),
    ({"name": "g w", "host": "192.0.2.1"}, "name"),
    ({"name": "gw", "host": "bad_host"}, "host"),
    ({"name": "gw", "host": "192.0.2.300"}, "host"),
    ({"name": "gw", "host": "192.0.2.1", "port": 0}, "port"),
    ({"name": "gw", "host": "192.0.2.1", "port": 70000}, "port"),
    ({"name": "gw", "host": "192.0.2.1", "port": "5060"}, "port"),
    ({"name": "gw", "host": "192.0.2.1", "transport": "tls"}, "transport"),
    ({"name": "gw", "host": "192.0.2.1", "acl_cidrs": ["10.0.0.1/8"]}, "acl_cidrs"),
    ({"name": "gw", "host": "192.0.2.1", "acl_cidrs": ["not-a-cidr"]}, "acl_cidrs"),
    ({"name": "gw", "host": "192.0.2.1", "acl_cidrs": "10.0.0.0/8"}, "acl_cidrs"),
    ({"name": "gw", "host": "192.0.2.1", "ping_interval": 2}, "ping_interval"),
    ({"name": "gw", "host": "192.0.2.1", "register_expires": 30}, "register_expires"),
    ({"name": "gw", "host": "192.0.2.1", "max_cps": 0}, "max_cps"),
    ({"name": "gw", "host": "192.0.2.1", "originate_timeout_ms": 50}, "originate_timeout_ms"),
    ({"name": "gw", "host": "192.0.2.1", "failover_statuses": [180]}, "failover_statuses"),
    ({"name": "gw", "host": "192.0.2.1", "caller_id_mode": "from"}, "caller_id_mode"),
    ({"name": "gw", "host": "192.0.2.1", "register": True}, "username"),
    ({"name": "gw", "host": "192.0.2.1", "register": True, "username": "u"}, "password"),
    ({"name": "gw", "host": "192.0.2.1", "secret": "x"}, "secret"),
    ({"name": "gw", "host": "192.0.2.1", "has_password": True}, "has_password"),
])
def test_gateway_field_errors(node, stack, body, field):
    t = new_tenant(node, stack.key, "gf")
    reply = create(node, stack.key, t, "gateways", body, expect=422)
    assert reply["field"] == field and reply["error"]


def test_duplicate_gateway_name_is_409(node, stack):
    a, b = new_tenant(node, stack.key, "dupa"), new_tenant(node, stack.key, "dupb")
    create(node, stack.key, a, "gateways", {"name": "same", "host": "192.0.2.1"})
    reply = create(node, stack.key, a, "gateways", {"name": "same", "host": "192.0.2.2"}, 409)
    assert reply["field"] == "name"
    create(node, stack.key, b, "gateways", {"name": "same", "host": "192.0.2.3"})  # other tenant
    other = create(node, stack.key, a, "gateways", {"name": "other", "host": "192.0.2.4"})
    status, reply = api(node, "PATCH", f"/v1/tenants/{a['id']}/gateways/{other['id']}",
                        stack.key, {"name": "same"})
    assert status == 409 and reply["field"] == "name"


def test_did_crud_and_global_uniqueness(node, stack):
    a, b = new_tenant(node, stack.key, "dida"), new_tenant(node, stack.key, "didb")
    path = f"/v1/tenants/{a['id']}/dids"
    d = create(node, stack.key, a, "dids", {"number": "+493012345", "target": "100"})
    assert d["target_type"] == "extension" and d["target"] == "100" and d["tenant_id"] == a["id"]
    assert api(node, "GET", path, stack.key) == (200, [d])
    assert api(node, "GET", f"{path}/{d['id']}", stack.key) == (200, d)
    # A number belongs to one tenant: a duplicate is 409 in any tenant.
    for t in (a, b):
        reply = create(node, stack.key, t, "dids", {"number": "+493012345", "target": "200"}, 409)
        assert reply["field"] == "number"
    for body, field in (({"number": "030-123", "target": "1"}, "number"),
                        ({"number": "+49301"}, "target"),
                        ({"number": "+49301", "target": "1 0"}, "target"),
                        ({"number": "+49301", "target": "1", "target_type": "queue"}, "target_type"),
                        ({"number": "+49301", "target": "1", "tenant_id": b["id"]}, "tenant_id")):
        assert create(node, stack.key, a, "dids", body, 422)["field"] == field
    status, p = api(node, "PATCH", f"{path}/{d['id']}", stack.key, {"target": "101"})
    assert status == 200 and p["target"] == "101" and p["number"] == "+493012345"
    assert api(node, "DELETE", f"{path}/{d['id']}", stack.key)[0] == 204
    assert api(node, "GET", f"{path}/{d['id']}", stack.key)[0] == 404
    create(node, stack.key, b, "dids", {"number": "+493012345", "target": "200"})  # free again


def test_route_crud_and_gateway_checks(node, stack):
    a, b = new_tenant(node, stack.key, "rta"), new_tenant(node, stack.key, "rtb")
    path = f"/v1/tenants/{a['id']}/routes"
    g1 = create(node, stack.key, a, "gateways", {"name": "g1", "host": "192.0.2.1"})
    g2 = create(node, stack.key, a, "gateways", {"name": "g2", "host": "192.0.2.2"})
    gb = create(node, stack.key, b, "gateways", {"name": "gb", "host": "192.0.2.9"})
    r = create(node, stack.key, a, "routes",
               {"name": "national", "pattern": "^0[1-9][0-9]+$", "gateway_ids": [g2["id"], g1["id"]],
                "strip_digits": 1, "prepend": "+49"})
    assert r["gateway_ids"] == [g2["id"], g1["id"]] and r["priority"] == 100
    assert (r["strip_digits"], r["prepend"], r["emergency"], r["enabled"]) == (1, "+49", False, True)
    e = create(node, stack.key, a, "routes",
               {"name": "emergency", "pattern": "^11[02]$", "gateway_ids": [g1["id"].upper()],
                "priority": 1, "emergency": True})
    assert e["gateway_ids"] == [g1["id"]] and e["emergency"] is True
    status, listed = api(node, "GET", path, stack.key)
    assert status == 200 and [x["name"] for x in listed] == ["emergency", "national"]

    for body, field in (
            ({"name": "x", "pattern": "([0-9", "gateway_ids": [g1["id"]]}, "pattern"),
            ({"name": "x", "pattern": "a{2,1}", "gateway_ids": [g1["id"]]}, "pattern"),
            ({"name": "x", "pattern": ".", "gateway_ids": [gb["id"]]}, "gateway_ids"),
            ({"name": "x", "pattern": ".", "gateway_ids": [g1["id"], gb["id"]]}, "gateway_ids"),
            ({"name": "x", "pattern": ".", "gateway_ids": [str(uuid.uuid4())]}, "gateway_ids"),
            ({"name": "x", "pattern": ".", "gateway_ids": []}, "gateway_ids"),
            ({"name": "x", "pattern": ".", "gateway_ids": [g1["id"], g1["id"]]}, "gateway_ids"),
            ({"name": "x", "pattern": "."}, "gateway_ids"),
            ({"name": "x", "pattern": ".", "gateway_ids": [g1["id"]], "prepend": "0x"}, "prepend"),
            ({"name": "x", "pattern": ".", "gateway_ids": [g1["id"]], "strip_digits": 21},
             "strip_digits"),
            ({"name": "x", "pattern": ".", "gateway_ids": [g1["id"]], "colour": 1}, "colour")):
        assert create(node, stack.key, a, "routes", body, 422)["field"] == field, body
    assert create(node, stack.key, a, "routes",
                  {"name": "national", "pattern": ".", "gateway_ids": [g1["id"]]}, 409)["field"] \
        == "name"

    status, reply = api(node, "PATCH", f"{path}/{r['id']}", stack.key, {"gateway_ids": [gb["id"]]})
    assert status == 422 and reply["field"] == "gateway_ids"
    status, reply = api(node, "PATCH", f"{path}/{r['id']}", stack.key, {"pattern": "("})
    assert status == 422 and reply["field"] == "pattern"
    status, p = api(node, "PATCH", f"{path}/{r['id']}", stack.key,
                    {"gateway_ids": [g1["id"]], "priority": 0, "enabled": False})
    assert status == 200 and p["gateway_ids"] == [g1["id"]] and p["priority"] == 0, p
    assert p["pattern"] == "^0[1-9][0-9]+$" and p["enabled"] is False

    # A gateway a route still lists cannot go; once no route lists it, it can.
    status, reply = api(node, "DELETE", f"/v1/tenants/{a['id']}/gateways/{g1['id']}", stack.key)
    assert status == 409 and "error" in reply
    assert api(node, "DELETE", f"/v1/tenants/{a['id']}/gateways/{g2['id']}", stack.key)[0] == 204
    for x in (r, e):
        assert api(node, "DELETE", f"{path}/{x['id']}", stack.key)[0] == 204
    assert api(node, "DELETE", f"/v1/tenants/{a['id']}/gateways/{g1['id']}", stack.key)[0] == 204
    assert api(node, "GET", path, stack.key) == (200, [])


def test_tenant_isolation(node, stack):
    a, b = new_tenant(node, stack.key, "isa"), new_tenant(node, stack.key, "isb")
    objs = {}
    for t in (a, b):
        g = create(node, stack.key, t, "gateways", {"name": "g", "host": "192.0.2.1"})
        d = create(node, stack.key, t, "dids", {"number": "+1555" + t["id"][:6].translate(
            str.maketrans("abcdef", "123456")), "target": "1"})
        r = create(node, stack.key, t, "routes", {"name": "r", "pattern": ".", "gateway_ids": [g["id"]]})
        objs[t["id"]] = {"gateways": g, "dids": d, "routes": r}
    status, k = api(node, "POST", "/v1/api-keys", stack.key, {"tenant_id": a["id"]})
    assert status == 201
    key = k["key"]
    for kind in ("gateways", "dids", "routes"):
        mine, theirs = objs[a["id"]][kind], objs[b["id"]][kind]
        status, listed = api(node, "GET", f"/v1/tenants/{a['id']}/{kind}", key)
        assert status == 200 and [x["id"] for x in listed] == [mine["id"]]
        assert api(node, "GET", f"/v1/tenants/{a['id']}/{kind}/{mine['id']}", key)[0] == 200
        assert api(node, "GET", f"/v1/tenants/{b['id']}/{kind}", key)[0] == 404
        for method, body in (("GET", None), ("PATCH", {}), ("DELETE", None)):
            assert api(node, method, f"/v1/tenants/{b['id']}/{kind}/{theirs['id']}", key, body)[0] \
                == 404
            # Another tenant's id under my own tenant is not found either.
            assert api(node, method, f"/v1/tenants/{a['id']}/{kind}/{theirs['id']}", key, body)[0] \
                == 404
        assert api(node, "POST", f"/v1/tenants/{b['id']}/{kind}", key, {})[0] == 404
    assert api(node, "GET", f"/v1/tenants/{b['id']}/routes", stack.key)[1][0]["id"] == \
        objs[b["id"]]["routes"]["id"]


def test_changes_notify_tandem_routing(node, stack):
    t = new_tenant(node, stack.key, "ntf")
    g = create(node, stack.key, t, "gateways", {"name": "g", "host": "192.0.2.1"})
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(stack.pg.port), "-U", "tandem", "-d", "tandem",
         "-v", "ON_ERROR_STOP=1", "-c", "LISTEN tandem_routing",
         "-c", f"UPDATE gateways SET port = 5062 WHERE id = '{g['id']}'",
         "-c", f"INSERT INTO dids (tenant_id, number, target) VALUES ('{t['id']}', '+1999', '1')",
         "-c", f"INSERT INTO routes (tenant_id, name, pattern, gateway_ids) VALUES "
               f"('{t['id']}', 'r', '.', ARRAY['{g['id']}'::uuid])"],
        capture_output=True, text=True, check=True).stdout
    for table in ("gateways", "dids", "routes"):
        assert f'"tandem_routing" with payload "{t["id"]} {table}"' in out, out


def test_tandemctl_gateway_did_route(node, stack):
    ctl = ("--api", node.api, "--key", stack.key)
    tid = new_tenant(node, stack.key, "cli")["id"]
    gw = tandemctl(*ctl, "gateway", "add", "--tenant", tid, "--name", "up1", "--host",
                   "sip.up1.example", "--port", "5070", "--transport", "tcp", "--username", "u1",
                   "--password", "pw-one", "--register", "--acl", "192.0.2.0/24,198.51.100.7",
                   "--quiet").stdout.strip()
    gw2 = tandemctl(*ctl, "gateway", "add", "--tenant", tid, "--name", "up2", "--host",
                    "192.0.2.20", "--quiet").stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", gw) and re.fullmatch(r"[0-9a-f-]{36}", gw2)
    listing = tandemctl(*ctl, "gateway", "list", "--tenant", tid).stdout
    assert "up1" in listing and "sip.up1.example" in listing and "5070" in listing
    assert "tcp" in listing and "198.51.100.7/32" in listing and "pw-one" not in listing
    assert stack.pg.psql(f"SELECT register, username, password FROM gateways WHERE id = '{gw}'") \
        == "t|u1|pw-one"

    did = tandemctl(*ctl, "did", "add", "--tenant", tid, "--number", "+4940123", "--extension",
                    "300", "--quiet").stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", did)
    assert "+4940123" in tandemctl(*ctl, "did", "list", "--tenant", tid).stdout

    rid = tandemctl(*ctl, "route", "add", "--tenant", tid, "--name", "intl", "--pattern",
                    "^00[1-9]", "--gateways", f"{gw2},{gw}", "--priority", "20", "--strip", "2",
                    "--prepend", "+", "--emergency", "--quiet").stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", rid)
    listing = tandemctl(*ctl, "route", "list", "--tenant", tid).stdout
    assert "intl" in listing and "^00[1-9]" in listing and f'["{gw2}","{gw}"]' in listing
    assert stack.pg.psql(f"SELECT priority, strip_digits, prepend, emergency, gateway_ids "
                         f"FROM routes WHERE id = '{rid}'") == f"20|2|+|t|{{{gw2},{gw}}}"
    shown = tandemctl(*ctl, "--json", "route", "list", "--tenant", tid).stdout
    assert rid in shown

    # API errors exit 1 naming the field; usage errors exit 2.
    r = tandemctl(*ctl, "route", "add", "--tenant", tid, "--name", "bad", "--pattern", "(",
                  "--gateways", gw, check=False)
    assert r.returncode == 1 and "pattern" in r.stderr
    r = tandemctl(*ctl, "gateway", "add", "--tenant", tid, "--name", "up1", "--host", "h.example",
                  check=False)
    assert r.returncode == 1 and "name" in r.stderr
    r = tandemctl(*ctl, "did", "add", "--tenant", tid, "--number", "+4940123", "--extension", "1",
                  check=False)
    assert r.returncode == 1 and "number" in r.stderr
    assert tandemctl(*ctl, "gateway", "add", "--tenant", tid, "--name", "x", "--host", "h.example",
                     "--port", "50x", check=False).returncode == 2
    assert tandemctl(*ctl, "route", "add", "--tenant", tid, "--name", "x", "--pattern", ".",
                     "--gateways", f"{gw},", check=False).returncode == 2
    assert tandemctl(*ctl, "route", "add", "--tenant", tid, "--name", "x",
                     check=False).returncode == 2
    assert tandemctl(*ctl, "did", "list", check=False).returncode == 2
    assert tandemctl(*ctl, "gateway", "frob", "--tenant", tid, check=False).returncode == 2


def routing_queries():
    """The sql blocks of docs/routing.md in order: (a) DID, (b) routes, (c) inbound gateway."""
    text = open(os.path.join(SOURCE, "docs/routing.md")).read()
    blocks = re.findall(r"```sql\n(.*?)```", text, re.S)
    assert len(blocks) == 3
    return blocks


def run_query(stack, sql, *params):
    """Runs a docs/routing.md query through psql with $n replaced by quoted literals."""
    for i, value in reversed(list(enumerate(params, 1))):
        sql = sql.replace(f"${i}", "'" + value.replace("'", "''") + "'")
    out = stack.pg.psql(sql)
    return [line.split("|") for line in out.splitlines() if line]


def test_docs_routing_queries(node, stack):
    did_q, routes_q, inbound_q = routing_queries()
    a, b = new_tenant(node, stack.key, "qa"), new_tenant(node, stack.key, "qb")

    def gw(t, name, **kw):
        return create(node, stack.key, t, "gateways", {"name": name, "host": "192.0.2.1", **kw})

    g1 = gw(a, "g1", host="sip1.example", port=5080, transport="tcp", username="u", password="p",
            acl_cidrs=["10.77.0.0/16"], max_calls=10, max_cps=1.5, failover_statuses=[503])
    g2 = gw(a, "g2", acl_cidrs=["2001:db8:77::/48"])
    g3 = gw(a, "g3", enabled=False, acl_cidrs=["10.78.0.0/16"])
    gb = gw(b, "gb", acl_cidrs=["10.77.1.64/26"])

    def route(t, name, prio, gws, **kw):
        return create(node, stack.key, t, "routes", {"name": name, "pattern": ".", "priority": prio,
                                                     "gateway_ids": [g["id"] for g in gws], **kw})

    route(a, "late", 50, [g3, g1], pattern="^9")       # g3 disabled: only g1 remains
    route(a, "early", 10, [g2, g1], strip_digits=1, prepend="+1")
    route(a, "off", 5, [g1], enabled=False)
    route(a, "alldisabled", 7, [g3])
    route(b, "other", 1, [gb])

    # (b) routes by priority, each route's gateways in gateway_ids order.
    rows = run_query(stack, routes_q, a["domain"])
    assert [(r[2], r[8], r[10]) for r in rows] == [("early", "1", "g2"), ("early", "2", "g1"),
                                                  ("late", "2", "g1")]
    early_g1 = rows[1]
    assert early_g1[0] == a["id"] and early_g1[9] == g1["id"] and early_g1[5:8] == ["1", "+1", "f"]
    assert early_g1[11:16] == ["sip1.example", "5080", "tcp", "u", "p"]
    assert early_g1[16:] == ["10", "1.5", "5000", "30000", "120000", "{503}", "pai"]
    assert [r[2] for r in run_query(stack, routes_q, b["domain"])] == ["other"]
    assert run_query(stack, routes_q, "nobody.example.test") == []

    # (a) DID -> tenant, domain and extension.
    create(node, stack.key, a, "dids", {"number": "+15551230001", "target": "100"})
    assert run_query(stack, did_q, "+15551230001") == [[a["id"], a["domain"], "extension", "100"]]
    assert run_query(stack, did_q, "15551230001") == []

    # (c) inbound: the most specific enabled gateway ACL containing the source address.
    def inbound(ip):
        return [(r[0], r[1], r[2], r[-1]) for r in run_query(stack, inbound_q, ip)]
    assert inbound("10.77.1.10") == [(g1["id"], a["id"], a["domain"], "16")]
    assert inbound("10.77.1.70") == [(gb["id"], b["id"], b["domain"], "26")]
    assert inbound("2001:db8:77::5") == [(g2["id"], a["id"], a["domain"], "48")]
    assert inbound("10.78.0.5") == []   # g3 is disabled
    assert inbound("10.79.0.1") == []


def test_postgres_outage(node, stack):
    """Runs last: without PostgreSQL the routing routes answer 503 and the node stays up."""
    t = new_tenant(node, stack.key, "pgdown")
    stack.pg.stop()
    try:
        for method, kind, body in (("GET", "gateways", None), ("POST", "dids",
                                   {"number": "+1", "target": "1"}), ("GET", "routes", None),
                                   ("POST", "routes", {"name": "r", "pattern": ".",
                                                       "gateway_ids": [GW1]})):
            status, reply = api(node, method, f"/v1/tenants/{t['id']}/{kind}", stack.key, body)
            assert status == 503, (method, kind, status, reply)
        assert node.alive()
    finally:
        stack.pg.start()
    wait_for(lambda: api(node, "GET", f"/v1/tenants/{t['id']}/gateways", stack.key)[0] == 200,
             timeout=20, what="API to recover after PostgreSQL restart")
