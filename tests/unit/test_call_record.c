/* Unit test for the call record (node/sip/calls.c): what one node writes to Redis, another reads
 * back whole, so every field must survive the round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "sip/call.h"

static void record_round_trips(void **state)
{
    (void)state;
    struct call c = {0}, back = {0};
    strcpy(c.uuid, "0b9e3f3c-4a7e-4c9a-9d55-2f0d1c7e8a11");
    strcpy(c.domain, "acme.example");
    strcpy(c.tenant_id, "5c1b3c2a-1111-4222-8333-944455556666");
    strcpy(c.caller, "1001");
    strcpy(c.callee, "1002");
    strcpy(c.callee_routed, "sip:1002@192.0.2.7:5060");
    strcpy(c.gateway, "carrier-a");
    strcpy(c.node, "node3");
    strcpy(c.media_ip, "192.0.2.1");
    c.state = CALL_CONFIRMED;
    c.created_ms = 1000;
    c.progress_ms = 1500;
    c.answered_ms = 2000;
    strcpy(c.a.call_id, "abc@phone");
    strcpy(c.a.local_hdr, "<sip:1002@acme.example>;tag=x1");
    strcpy(c.a.remote_hdr, "\"Alice\" <sip:1001@acme.example>;tag=y2");
    strcpy(c.a.remote_target, "sip:1001@192.0.2.9:5062");
    strcpy(c.a.route, "<sip:edge1;lr>, <sip:edge2;lr>");
    strcpy(c.a.destination, "sip:192.0.2.9:5062;transport=tcp");
    c.a.local_cseq = 101;
    c.a.remote_cseq = 7;
    c.a.media_port = 30000;
    strcpy(c.b.call_id, "uuid-0@tandem");
    c.b.local_cseq = 2;
    c.b.media_port = 30002;

    json_t *j = call_to_json(&c);
    assert_non_null(j);
    assert_int_equal(call_from_json(&back, j), 0);
    json_decref(j);
    assert_string_equal(back.uuid, c.uuid);
    assert_string_equal(back.tenant_id, c.tenant_id);
    assert_string_equal(back.callee_routed, c.callee_routed);
    assert_string_equal(back.gateway, c.gateway);
    assert_string_equal(back.node, c.node);
    assert_int_equal(back.state, CALL_CONFIRMED);
    assert_int_equal(back.progress_ms, 1500);
    assert_int_equal(back.answered_ms, 2000);
    assert_string_equal(back.a.remote_hdr, c.a.remote_hdr);
    assert_string_equal(back.a.route, c.a.route);
    assert_string_equal(back.a.destination, c.a.destination);
    assert_int_equal(back.a.local_cseq, 101);
    assert_int_equal(back.a.remote_cseq, 7);
    assert_int_equal(back.a.media_port, 30000);
    assert_string_equal(back.b.call_id, c.b.call_id);
    assert_int_equal(back.b.media_port, 30002);
}

static void incomplete_record_is_refused(void **state)
{
    (void)state;
    struct call back = {0};
    json_t *j = json_pack("{s:s}", "uuid", "x");
    assert_int_equal(call_from_json(&back, j), -1);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(record_round_trips),
        cmocka_unit_test(incomplete_record_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
