/* Unit tests for node/admin/api_validate_routing.c: gateway, DID and route bodies (each fault
 * names its field) and the host, CIDR, number, prepend and regex checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "admin/api_validate_routing.h"

typedef int (*validator)(const json_t *, int, struct api_verror *);

/* The field named by validating text, or "" when it is valid. */
static const char *fault(validator v, const char *text, int creating, struct api_verror *err)
{
    json_t *o = json_loads(text, 0, NULL);
    assert_non_null(o);
    int rc = v(o, creating, err);
    json_decref(o);
    return rc == 0 ? "" : err->field;
}

static void test_gateway_bodies(void **state)
{
    (void)state;
    struct api_verror e;
    validator g = api_validate_gateway;
    assert_string_equal(fault(g, "{\"name\":\"gw1\",\"host\":\"sip.example.net\"}", 1, &e), "");
    assert_string_equal(
        fault(g,
              "{\"name\":\"gw.1\",\"host\":\"192.0.2.1\",\"port\":5080,\"transport\":\"tcp\","
              "\"username\":\"u\",\"password\":\"p\",\"register\":true,\"register_expires\":600,"
              "\"ping_interval\":0,\"acl_cidrs\":[\"192.0.2.0/24\",\"2001:db8::/32\"],"
              "\"max_calls\":null,\"max_cps\":0.5,\"originate_timeout_ms\":100,"
              "\"progress_timeout_ms\":600000,\"bridge_answer_timeout_ms\":1000,"
              "\"failover_statuses\":[408,503],\"caller_id_mode\":\"rpid\",\"enabled\":false}",
              1, &e),
        "");
    assert_string_equal(fault(g, "{}", 0, &e), "");
    assert_string_equal(fault(g, "{\"host\":\"h.example\"}", 1, &e), "name");
    assert_string_equal(fault(g, "{\"name\":\"a b\",\"host\":\"h.example\"}", 1, &e), "name");
    assert_string_equal(fault(g, "{\"name\":\"a\",\"host\":\"bad_host\"}", 1, &e), "host");
    assert_string_equal(fault(g, "{\"port\":0}", 0, &e), "port");
    assert_string_equal(fault(g, "{\"port\":65536}", 0, &e), "port");
    assert_string_equal(fault(g, "{\"port\":\"5060\"}", 0, &e), "port");
    assert_string_equal(fault(g, "{\"port\":5060.5}", 0, &e), "port");
    assert_string_equal(fault(g, "{\"transport\":\"tls\"}", 0, &e), "transport");
    assert_string_equal(fault(g, "{\"register_expires\":59}", 0, &e), "register_expires");
    assert_string_equal(fault(g, "{\"ping_interval\":4}", 0, &e), "ping_interval");
    assert_string_equal(fault(g, "{\"ping_interval\":3601}", 0, &e), "ping_interval");
    assert_string_equal(fault(g, "{\"ping_interval\":5}", 0, &e), "");
    assert_string_equal(fault(g, "{\"acl_cidrs\":[\"10.0.0.1/8\"]}", 0, &e), "acl_cidrs");
    assert_string_equal(fault(g, "{\"acl_cidrs\":\"10.0.0.0/8\"}", 0, &e), "acl_cidrs");
    assert_string_equal(fault(g, "{\"acl_cidrs\":[1]}", 0, &e), "acl_cidrs");
    assert_string_equal(fault(g, "{\"max_calls\":0}", 0, &e), "max_calls");
    assert_string_equal(fault(g, "{\"max_cps\":0}", 0, &e), "max_cps");
    assert_string_equal(fault(g, "{\"max_cps\":\"5\"}", 0, &e), "max_cps");
    assert_string_equal(fault(g, "{\"max_cps\":null}", 0, &e), "");
    assert_string_equal(fault(g, "{\"originate_timeout_ms\":99}", 0, &e), "originate_timeout_ms");
    assert_string_equal(fault(g, "{\"bridge_answer_timeout_ms\":600001}", 0, &e),
                        "bridge_answer_timeout_ms");
    assert_string_equal(fault(g, "{\"failover_statuses\":[200]}", 0, &e), "failover_statuses");
    assert_string_equal(fault(g, "{\"failover_statuses\":[\"503\"]}", 0, &e), "failover_statuses");
    assert_string_equal(fault(g, "{\"failover_statuses\":[]}", 0, &e), "");
    assert_string_equal(fault(g, "{\"caller_id_mode\":\"from\"}", 0, &e), "caller_id_mode");
    assert_string_equal(fault(g, "{\"username\":\"a\\u0001b\"}", 0, &e), "username");
    assert_string_equal(fault(g, "{\"password\":null,\"username\":null}", 0, &e), "");
    assert_string_equal(fault(g, "{\"secret\":\"x\"}", 0, &e), "secret");
    /* Registering needs credentials (on create; a PATCH is checked against the stored row). */
    assert_string_equal(
        fault(g, "{\"name\":\"a\",\"host\":\"h.example\",\"register\":true}", 1, &e), "username");
    assert_string_equal(fault(g,
                              "{\"name\":\"a\",\"host\":\"h.example\",\"register\":true,"
                              "\"username\":\"u\"}",
                              1, &e),
                        "password");
    assert_string_equal(fault(g, "{\"register\":true}", 0, &e), "");
}

static void test_did_bodies(void **state)
{
    (void)state;
    struct api_verror e;
    validator d = api_validate_did;
    assert_string_equal(fault(d, "{\"number\":\"+4930123\",\"target\":\"100\"}", 1, &e), "");
    assert_string_equal(
        fault(d, "{\"number\":\"4930\",\"target_type\":\"extension\",\"target\":\"a.b\"}", 1, &e),
        "");
    assert_string_equal(fault(d, "{\"target\":\"100\"}", 1, &e), "number");
    assert_string_equal(fault(d, "{\"number\":\"+49\"}", 1, &e), "target");
    assert_string_equal(fault(d, "{\"number\":\"49-30\"}", 0, &e), "number");
    assert_string_equal(fault(d, "{\"number\":\"123456789012345678901\"}", 0, &e), "number");
    assert_string_equal(fault(d, "{\"target_type\":\"queue\"}", 0, &e), "target_type");
    assert_string_equal(fault(d, "{\"target\":\"1 00\"}", 0, &e), "target");
}

static void test_route_bodies(void **state)
{
    (void)state;
    struct api_verror e;
    validator r = api_validate_route;
    const char *id1 = "0b8a4c1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b";
    const char *id2 = "1b8a4c1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b";
    char text[512];
    snprintf(text, sizeof text,
             "{\"name\":\"out\",\"pattern\":\"^\\\\+?49[0-9]+$\",\"gateway_ids\":[\"%s\",\"%s\"],"
             "\"priority\":10,\"strip_digits\":3,\"prepend\":\"+49\",\"emergency\":true}",
             id1, id2);
    assert_string_equal(fault(r, text, 1, &e), "");
    snprintf(text, sizeof text, "{\"name\":\"x\",\"pattern\":\"(\",\"gateway_ids\":[\"%s\"]}", id1);
    assert_string_equal(fault(r, text, 1, &e), "pattern");
    assert_string_equal(e.message, "must be a POSIX extended regular expression");
    assert_string_equal(fault(r, "{\"name\":\"x\",\"pattern\":\".*\"}", 1, &e), "gateway_ids");
    assert_string_equal(fault(r, "{\"gateway_ids\":[]}", 0, &e), "gateway_ids");
    assert_string_equal(fault(r, "{\"gateway_ids\":[\"nope\"]}", 0, &e), "gateway_ids");
    snprintf(text, sizeof text, "{\"gateway_ids\":[\"%s\",\"%s\"]}", id1,
             "0B8A4C1E-2F3D-4E5F-8A9B-0C1D2E3F4A5B");
    assert_string_equal(fault(r, text, 0, &e), "gateway_ids");
    assert_string_equal(fault(r, "{\"strip_digits\":21}", 0, &e), "strip_digits");
    assert_string_equal(fault(r, "{\"prepend\":\"0a\"}", 0, &e), "prepend");
    assert_string_equal(fault(r, "{\"prepend\":\"\"}", 0, &e), "");
    assert_string_equal(fault(r, "{\"priority\":-1}", 0, &e), "priority");
    assert_string_equal(fault(r, "{\"emergency\":1}", 0, &e), "emergency");
}

static void test_syntax_checks(void **state)
{
    (void)state;
    assert_true(api_valid_host("sip.example.net"));
    assert_true(api_valid_host("192.0.2.10"));
    assert_true(api_valid_host("2001:db8::1"));
    assert_false(api_valid_host("192.0.2.300"));
    assert_false(api_valid_host("[2001:db8::1]"));
    assert_false(api_valid_host(""));
    assert_true(api_valid_cidr("10.0.0.0/8"));
    assert_true(api_valid_cidr("192.0.2.7"));
    assert_true(api_valid_cidr("0.0.0.0/0"));
    assert_true(api_valid_cidr("2001:db8::/32"));
    assert_false(api_valid_cidr("10.0.0.1/8"));
    assert_false(api_valid_cidr("10.0.0.0/33"));
    assert_false(api_valid_cidr("10.0.0.0/"));
    assert_false(api_valid_cidr("10.0.0.0/+8"));
    assert_false(api_valid_cidr("2001:db8::1/32"));
    assert_false(api_valid_cidr("example.com/8"));
    assert_true(api_valid_did_number("+12025550123"));
    assert_false(api_valid_did_number("+"));
    assert_false(api_valid_did_number("++1"));
    assert_true(api_valid_prepend("*#+0"));
    assert_false(api_valid_prepend("123456789012345678901"));
    assert_true(api_valid_regex("^(00|\\+)49[1-9][0-9]{3,}$"));
    assert_false(api_valid_regex("[0-9"));
    assert_false(api_valid_regex("a{2,1}"));
    assert_true(api_valid_gateway_name("carrier-A_1.2"));
    assert_false(api_valid_gateway_name("carrier/A"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gateway_bodies),
        cmocka_unit_test(test_did_bodies),
        cmocka_unit_test(test_route_bodies),
        cmocka_unit_test(test_syntax_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
