"""REST admin API and tandemctl against a real tandemd, PostgreSQL and Redis.

Covers CRUD, validation (400/409/413/422), tenant isolation, registrations read from Redis in
the layout of schema/redis.md, Redis and PostgreSQL going away and coming back, and that every route in
docs/api/openapi.yaml exists on the server. The PostgreSQL outage test runs last."""
import hashlib
import json
import os
import re
import time
import uuid

import pytest

from harness import SOURCE, api, tandemctl, wait_for


@pytest.fixture(scope="module")
def node(stack):
    return stack.node("api1")


def new_tenant(node, key, name):
    status, body = api(node, "POST", "/v1/tenants", key,
                       {"name": name, "domain": f"{name}.Example.test"})
    assert status == 201, body
    return body


def test_health(node):
    # Right after start the node may still be connecting to its stores (503, "degraded").
    wait_for(lambda: api(node, "GET", "/v1/health")[0] == 200, timeout=10,
             what="the node to reach its stores")
    status, body = api(node, "GET", "/v1/health")
    assert status == 200, body
    assert body == {"status": "ok", "node": "api1", "redis": "up", "postgres": "up",
                    "quorate": True}


def test_needs_a_valid_key(node):
    status, body = api(node, "GET", "/v1/tenants")
    assert status == 401 and "error" in body
    status, body = api(node, "GET", "/v1/tenants", "tdm_not-a-key")
    assert status == 401 and "error" in body


def test_tenant_crud(node, stack):
    t = new_tenant(node, stack.key, "crud")
    assert t["domain"] == "crud.example.test" and t["name"] == "crud"
    status, got = api(node, "GET", f"/v1/tenants/{t['id']}", stack.key)
    assert status == 200 and got == t
    status, listed = api(node, "GET", "/v1/tenants", stack.key)
    assert status == 200 and t["id"] in [x["id"] for x in listed]
    status, patched = api(node, "PATCH", f"/v1/tenants/{t['id']}", stack.key,
                          {"name": "renamed", "domain": "crud2.example.test"})
    assert status == 200 and patched["name"] == "renamed"
    assert patched["domain"] == "crud2.example.test"
    status, _ = api(node, "DELETE", f"/v1/tenants/{t['id']}", stack.key)
    assert status == 204
    status, body = api(node, "GET", f"/v1/tenants/{t['id']}", stack.key)
    assert status == 404 and "error" in body


def test_user_create_keeps_only_ha1(node, stack):
    t = new_tenant(node, stack.key, "users")
    path = f"/v1/tenants/{t['id']}/users"
    status, u = api(node, "POST", path, stack.key,
                    {"extension": "100", "password": "s3cret-pass", "display_name": "Alice"})
    assert status == 201, u
    assert "password" not in u and "ha1" not in u
    assert u["extension"] == "100" and u["enabled"] is True and u["tenant_id"] == t["id"]
    ha1 = stack.pg.psql(f"SELECT ha1 FROM users WHERE id = '{u['id']}'")
    assert ha1 == hashlib.md5(b"100:users.example.test:s3cret-pass").hexdigest()
    status, listed = api(node, "GET", path, stack.key)
    assert status == 200 and [x["id"] for x in listed] == [u["id"]]
    assert all("ha1" not in x and "password" not in x for x in listed)
    status, got = api(node, "GET", f"{path}/{u['id']}", stack.key)
    assert status == 200 and got == u

    # A new extension needs a new password: the HA1 includes it.
    status, body = api(node, "PATCH", f"{path}/{u['id']}", stack.key, {"extension": "101"})
    assert status == 422 and body["field"] == "password"
    status, p = api(node, "PATCH", f"{path}/{u['id']}", stack.key,
                    {"extension": "101", "password": "another-pass", "enabled": False})
    assert status == 200 and p["extension"] == "101" and p["enabled"] is False
    assert "ha1" not in p
    ha1 = stack.pg.psql(f"SELECT ha1 FROM users WHERE id = '{u['id']}'")
    assert ha1 == hashlib.md5(b"101:users.example.test:another-pass").hexdigest()

    status, _ = api(node, "DELETE", f"{path}/{u['id']}", stack.key)
    assert status == 204
    status, _ = api(node, "GET", f"{path}/{u['id']}", stack.key)
    assert status == 404


@pytest.mark.parametrize("body,field", [
    ({"name": "x"}, "domain"),
    ({"name": "x", "domain": "bad_domain"}, "domain"),
    ({"name": "x", "domain": "a..b"}, "domain"),
    ({"name": 5, "domain": "ok.example.test"}, "name"),
    ({"name": "", "domain": "ok.example.test"}, "name"),
    ({"name": "x" * 129, "domain": "ok.example.test"}, "name"),
    ({"name": "x", "domain": "ok.example.test", "colour": "red"}, "colour"),
])
def test_tenant_field_errors(node, stack, body, field):
    status, reply = api(node, "POST", "/v1/tenants", stack.key, body)
    assert status == 422, reply
    assert reply["field"] == field and reply["error"]


@pytest.mark.parametrize("body,field", [
    ({"password": "long-enough"}, "extension"),
    ({"extension": "100"}, "password"),
    ({"extension": "1 00", "password": "long-enough"}, "extension"),
    ({"extension": "x" * 65, "password": "long-enough"}, "extension"),
    ({"extension": "100", "password": "short"}, "password"),
    ({"extension": "100", "password": "p" * 129}, "password"),
    ({"extension": "100", "password": "long-enough", "display_name": "d" * 129}, "display_name"),
    ({"extension": "100", "password": "long-enough", "enabled": "yes"}, "enabled"),
    ({"extension": "100", "password": "long-enough", "ha1": "0" * 32}, "ha1"),
])
def test_user_field_errors(node, stack, body, field):
    t = new_tenant(node, stack.key, "uf" + uuid.uuid4().hex[:8])
    status, reply = api(node, "POST", f"/v1/tenants/{t['id']}/users", stack.key, body)
    assert status == 422, reply
    assert reply["field"] == field


def test_bad_json_is_400(node, stack):
    for raw in (b"{not json", b"[1,2]", b"", b'{"name": "a", "name": "b"}'):
        status, reply = api(node, "POST", "/v1/tenants", stack.key, raw=raw)
        assert status == 400, (raw, reply)
        assert "error" in reply


def test_oversized_body_is_413(node, stack):
    raw = json.dumps({"name": "x" * 70000, "domain": "big.example.test"}).encode()
    status, reply = api(node, "POST", "/v1/tenants", stack.key, raw=raw)
    assert status == 413 and "error" in reply
    assert api(node, "GET", "/v1/health")[0] == 200


def test_duplicates_are_409(node, stack):
    t = new_tenant(node, stack.key, "dup")
    status, reply = api(node, "POST", "/v1/tenants", stack.key,
                        {"name": "again", "domain": "DUP.example.test"})
    assert status == 409 and reply["field"] == "domain"
    users = f"/v1/tenants/{t['id']}/users"
    assert api(node, "POST", users, stack.key, {"extension": "200", "password": "long-enough"})[0] == 201
    status, reply = api(node, "POST", users, stack.key, {"extension": "200", "password": "other-pass"})
    assert status == 409 and reply["field"] == "extension"
    # The domain is the users' HA1 realm: it cannot change under them.
    status, reply = api(node, "PATCH", f"/v1/tenants/{t['id']}", stack.key,
                        {"domain": "moved.example.test"})
    assert status == 409 and reply["field"] == "domain"


def test_unknown_routes_ids_and_methods(node, stack):
    assert api(node, "GET", "/v1/nothing", stack.key)[0] == 404
    assert api(node, "GET", "/v1/tenants/not-a-uuid", stack.key)[0] == 404
    assert api(node, "GET", f"/v1/tenants/{uuid.uuid4()}", stack.key)[0] == 404
    assert api(node, "GET", "/v1/tenants/not-a-uuid/users", stack.key)[0] == 404
    status, reply = api(node, "PUT", "/v1/tenants", stack.key, {"name": "x"})
    assert status == 405 and "error" in reply
    assert api(node, "DELETE", "/v1/tenants", stack.key)[0] == 405


def test_tenant_isolation(node, stack):
    a = new_tenant(node, stack.key, "isoa")
    b = new_tenant(node, stack.key, "isob")
    keys = {}
    for t in (a, b):
        status, k = api(node, "POST", "/v1/api-keys", stack.key,
                        {"tenant_id": t["id"], "description": "test"})
        assert status == 201 and k["key"].startswith("tdm_") and k["tenant_id"] == t["id"]
        keys[t["id"]] = k["key"]
        assert stack.pg.psql(f"SELECT key_sha256 FROM api_keys WHERE id = '{k['id']}'") == \
            hashlib.sha256(k["key"].encode()).hexdigest()
    for me, other in ((a, b), (b, a)):
        key = keys[me["id"]]
        status, listed = api(node, "GET", "/v1/tenants", key)
        assert status == 200 and [t["id"] for t in listed] == [me["id"]]
        assert api(node, "GET", f"/v1/tenants/{me['id']}", key)[0] == 200
        for path in ("", "/users", "/registrations"):
            assert api(node, "GET", f"/v1/tenants/{other['id']}{path}", key)[0] == 404
        assert api(node, "PATCH", f"/v1/tenants/{other['id']}", key, {"name": "x"})[0] == 404
        assert api(node, "DELETE", f"/v1/tenants/{other['id']}", key)[0] == 404
        assert api(node, "POST", f"/v1/tenants/{other['id']}/users", key,
                   {"extension": "1", "password": "long-enough"})[0] == 404
        assert api(node, "POST", f"/v1/tenants/{me['id']}/users", key,
                   {"extension": "1", "password": "long-enough"})[0] == 201
        assert api(node, "POST", "/v1/tenants", key, {"name": "n", "domain": "n.example.test"})[0] == 403
        assert api(node, "POST", "/v1/api-keys", key, {"tenant_id": None})[0] == 403
        assert api(node, "POST", "/v1/api-keys", key, {"tenant_id": other["id"]})[0] == 403
    status, listed = api(node, "GET", "/v1/tenants", stack.key)
    assert {a["id"], b["id"]} <= {t["id"] for t in listed}


def write_binding(stack, domain, user, contact, expires_at, index_score=None):
    binding = {"aor": f"sip:{user}@{domain}", "contact": contact, "expires_at": expires_at,
               "received": "127.0.0.1:5099", "transport": "udp", "node": "api1",
               "socket": "127.0.0.1:5060", "user_agent": "pytest", "call_id": "c1", "cseq": 1,
               "path": [], "registered_at": int(time.time())}
    assert stack.redis.cli("HSET", f"tandem:reg:{domain}:{user}", contact, json.dumps(binding)) \
        is not None
    assert stack.redis.cli("ZADD", f"tandem:regidx:{domain}", str(index_score or expires_at),
                           user) is not None


def test_registrations_from_redis(node, stack):
    t = new_tenant(node, stack.key, "regs")
    domain, now = t["domain"], int(time.time())
    path = f"/v1/tenants/{t['id']}/registrations"
    assert api(node, "GET", path, stack.key) == (200, [])
    write_binding(stack, domain, "100", "sip:100@192.0.2.1:5070", now + 300)
    write_binding(stack, domain, "100", "sip:100@192.0.2.9:5070", now - 5, now + 300)  # over
    write_binding(stack, domain, "101", "sip:101@192.0.2.2:5070", now - 10)  # AoR over
    write_binding(stack, "other.example.test", "100", "sip:x@192.0.2.3", now + 300)
    status, regs = api(node, "GET", path, stack.key)
    assert status == 200, regs
    assert [r["contact"] for r in regs] == ["sip:100@192.0.2.1:5070"]
    assert regs[0]["aor"] == f"sip:100@{domain}" and regs[0]["node"] == "api1"
    assert 290 <= regs[0]["expires"] <= 300
    out = tandemctl("--api", node.api, "--key", stack.key, "regs", "--tenant", t["id"]).stdout
    assert "sip:100@192.0.2.1:5070" in out and "192.0.2.9" not in out


def test_tandemctl_end_to_end(node, stack, tmp_path):
    ctl = ("--api", node.api, "--key", stack.key)
    tid = tandemctl(*ctl, "tenant", "add", "--name", "cli", "--domain", "cli.example.test",
                    "--quiet").stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", tid)
    listing = tandemctl(*ctl, "tenant", "list").stdout
    assert tid in listing and "cli.example.test" in listing
    shown = json.loads(tandemctl(*ctl, "--json", "tenant", "show", tid).stdout)
    assert shown["domain"] == "cli.example.test"
    uid = tandemctl(*ctl, "user", "add", "--tenant", tid, "--extension", "300", "--password",
                    "cli-password", "--display-name", "Carol", "--quiet").stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", uid)
    assert "Carol" in tandemctl(*ctl, "user", "list", "--tenant", tid).stdout
    assert stack.pg.psql(f"SELECT ha1 FROM users WHERE id = '{uid}'") == \
        hashlib.md5(b"300:cli.example.test:cli-password").hexdigest()
    write_binding(stack, "cli.example.test", "300", "sip:300@198.51.100.7:5062",
                  int(time.time()) + 120)
    regs = tandemctl(*ctl, "regs", "--tenant", tid).stdout
    assert "sip:300@198.51.100.7:5062" in regs and "sip:300@cli.example.test" in regs

    # API errors exit 1 with the API's message and field; usage errors exit 2.
    r = tandemctl(*ctl, "tenant", "add", "--name", "cli2", "--domain", "cli.example.test",
                  check=False)
    assert r.returncode == 1 and "domain" in r.stderr
    r = tandemctl(*ctl, "user", "add", "--tenant", tid, "--extension", "301", "--password", "x",
                  check=False)
    assert r.returncode == 1 and "password" in r.stderr
    assert tandemctl(*ctl, "tenant", "add", "--name", "x", check=False).returncode == 2
    assert tandemctl(*ctl, "frobnicate", check=False).returncode == 2
    assert tandemctl(*ctl, "tenant", "list", "--bogus", check=False).returncode == 2
    assert tandemctl("--api", node.api, "--key", "tdm_wrong", "tenant", "list",
                     check=False).returncode == 1

    # Key from a file, and tenant keys through `apikey add`.
    keyfile = tmp_path / "key"
    keyfile.write_text(stack.key + "\n")
    assert tid in tandemctl("--api", node.api, "--key-file", str(keyfile), "tenant", "list").stdout
    tkey = tandemctl(*ctl, "apikey", "add", "--tenant", tid, "--quiet").stdout.strip()
    assert tkey.startswith("tdm_")
    only = tandemctl("--api", node.api, "--key", tkey, "--json", "tenant", "list").stdout
    assert [t["id"] for t in json.loads(only)] == [tid]

    assert tandemctl(*ctl, "tenant", "del", tid).returncode == 0
    assert tandemctl(*ctl, "tenant", "show", tid, check=False).returncode == 1


def test_db_migrate_second_run_changes_nothing(stack):
    before = stack.pg.psql("SELECT count(*), max(applied_at) FROM tandem_migrations")
    r = tandemctl("--db", stack.pg.conninfo, "db", "migrate", "--schema",
                  os.path.join(SOURCE, "schema"))
    assert r.stdout.strip() == "schema up to date"
    assert stack.pg.psql("SELECT count(*), max(applied_at) FROM tandem_migrations") == before
    assert stack.pg.psql("SELECT version, name FROM tandem_migrations ORDER BY version") \
        .splitlines()[0] == "1|tenants_users"


def openapi_operations():
    """(path, method) pairs from docs/api/openapi.yaml, with or without PyYAML."""
    text = open(os.path.join(SOURCE, "docs/api/openapi.yaml")).read()
    try:
        import yaml
        paths = yaml.safe_load(text)["paths"]
        return [(p, m) for p, ops in paths.items() for m in ops
                if m in ("get", "post", "put", "patch", "delete")]
    except ImportError:
        ops, path, in_paths = [], None, False
        for line in text.splitlines():
            if re.match(r"^\S", line):
                in_paths = line.startswith("paths:")
            elif in_paths and (m := re.match(r"^  (/\S*):\s*$", line)):
                path = m.group(1)
            elif in_paths and path and (m := re.match(r"^    (get|post|put|patch|delete):", line)):
                ops.append((path, m.group(1)))
        return ops


def test_every_documented_route_exists(node, stack):
    ops = openapi_operations()
    assert len(ops) >= 12
    t = new_tenant(node, stack.key, "spec")
    status, u = api(node, "POST", f"/v1/tenants/{t['id']}/users", stack.key,
                    {"extension": "1", "password": "long-enough"})
    assert status == 201
    ids = {"{tenant_id}": t["id"], "{user_id}": u["id"],
           "{call_uuid}": "00000000-0000-4000-8000-000000000000"}
    for kind, body in (("gateway", {"name": "gw", "host": "192.0.2.1"}),
                       ("did", {"number": "+15550100", "target": "1"}),
                       ("route", {"name": "r", "pattern": ".", "gateway_ids": []})):
        if kind == "route":
            body["gateway_ids"] = [ids["{gateway_id}"]]
        status, obj = api(node, "POST", f"/v1/tenants/{t['id']}/{kind}s", stack.key, body)
        assert status == 201, obj
        ids[f"{{{kind}_id}}"] = obj["id"]
    # Deletes last, deepest first, so each one still finds its object.
    ops.sort(key=lambda op: (op[1] == "delete", -op[0].count("/")))
    for path, method in ops:
        url = path
        for placeholder, value in ids.items():
            url = url.replace(placeholder, value)
        body = {} if method in ("post", "patch") else None
        status, reply = api(node, method.upper(), url, stack.key, body)
        if "{call_uuid}" in path:  # no live call here: the route must exist, the call need not
            assert status != 405 and (reply or {}).get("error") != "no such route", (path, reply)
            continue
        assert status not in (404, 405), (method, path, status, reply)
        assert status < 500, (method, path, status, reply)


def test_redis_outage(node, stack):
    t = new_tenant(node, stack.key, "redisdown")
    path = f"/v1/tenants/{t['id']}/registrations"
    stack.redis.stop()
    try:
        status, reply = api(node, "GET", path, stack.key)
        assert status == 503 and "error" in reply, reply
        status, health = api(node, "GET", "/v1/health")
        assert status == 503 and health["redis"] == "down"
        assert api(node, "GET", "/v1/tenants", stack.key)[0] == 200
        assert node.alive()
    finally:
        stack.redis.start()
    wait_for(lambda: api(node, "GET", path, stack.key) == (200, []), timeout=20,
             what="registrations to recover after Redis restart")
    wait_for(lambda: api(node, "GET", "/v1/health")[0] == 200, timeout=30,
             what="health to recover after Redis restart")


def test_postgres_outage(node, stack):
    """Runs last in this module: PostgreSQL stops, the API answers 503 and stays up."""
    stack.pg.stop()
    try:
        for method, path in (("GET", "/v1/tenants"), ("POST", "/v1/tenants")):
            status, reply = api(node, method, path, stack.key, {"name": "x", "domain": "d.test"}
                                if method == "POST" else None)
            assert status == 503 and reply == {"error": "database unavailable"}, reply
        status, health = api(node, "GET", "/v1/health")
        assert status == 503 and health["postgres"] == "down" and health["redis"] == "up"
        assert node.alive()
    finally:
        stack.pg.start()
    wait_for(lambda: api(node, "GET", "/v1/tenants", stack.key)[0] == 200, timeout=20,
             what="API to recover after PostgreSQL restart")
    assert api(node, "POST", "/v1/tenants", stack.key,
               {"name": "back", "domain": "back.example.test"})[0] == 201
    wait_for(lambda: api(node, "GET", "/v1/health")[0] == 200, timeout=30,
             what="health to recover")
    assert node.alive()
