/* Unit test for a call's CDR (node/sip/call_cdr.c): what call control recorded is carried over,
 * and calls it left incomplete (cancelled during a lookup, torn down at shutdown) still bill. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "media/media.h"
#include "sip/call.h"
#include "store/cdr.h"

#include <jansson.h>

static struct call base(void)
{
    struct call c = {0};
    strcpy(c.uuid, "0b9e3f3c-4a7e-4c9a-9d55-2f0d1c7e8a11");
    strcpy(c.tenant_id, "5c1b3c2a-1111-4222-8333-944455556666");
    strcpy(c.caller, "1001");
    strcpy(c.callee, "1002");
    strcpy(c.node, "node3");
    strcpy(c.a.call_id, "abc@phone");
    c.created_ms = 1000;
    return c;
}

static void answered_call_carries_what_call_control_set(void **state)
{
    (void)state;
    struct call c = base();
    strcpy(c.callee_routed, "sip:1002@192.0.2.7:5060");
    strcpy(c.b.call_id, "b-leg@tandem");
    c.progress_ms = 1500;
    c.answered_ms = 2000;
    c.final_status = 200;
    c.q850_cause = 16;
    strcpy(c.hangup_by, "callee");
    struct cdr r;
    call_cdr_fill(&c, 9000, &r);
    assert_string_equal(r.call_uuid, c.uuid);
    assert_string_equal(r.tenant_id, c.tenant_id);
    assert_string_equal(r.callee_dialled, "1002");
    assert_string_equal(r.callee_routed, "sip:1002@192.0.2.7:5060");
    assert_string_equal(r.a_call_id, "abc@phone");
    assert_string_equal(r.b_call_id, "b-leg@tandem");
    assert_true(r.start_ms == 1000 && r.progress_ms == 1500 && r.answer_ms == 2000);
    assert_true(r.end_ms == 9000);
    assert_int_equal(r.sip_status, 200);
    assert_int_equal(r.q850_cause, 16);
    assert_string_equal(r.hangup_by, "callee");
}

static void cancel_during_lookup_is_a_487_by_the_caller(void **state)
{
    (void)state;
    struct call c = base();
    c.cancelled = 1;
    struct cdr r;
    call_cdr_fill(&c, 1200, &r);
    assert_int_equal(r.sip_status, 487);
    assert_int_equal(r.q850_cause, 16);
    assert_string_equal(r.hangup_by, "caller");
    assert_true(r.answer_ms == 0);
}

static void call_torn_down_while_ringing_is_the_systems(void **state)
{
    (void)state;
    struct call c = base();
    c.progress_ms = 1100;
    struct cdr r;
    call_cdr_fill(&c, 1300, &r);
    assert_int_equal(r.sip_status, 500);
    assert_int_equal(r.q850_cause, 38);
    assert_string_equal(r.hangup_by, "system");
}

static void media_stats_are_json_and_absent_without_media(void **state)
{
    (void)state;
    struct call c = base();
    struct cdr r;
    call_cdr_fill(&c, 2000, &r);
    assert_string_equal(r.media_a, ""); /* media on another node: NULL columns */
    assert_string_equal(r.codec_a, "");

    struct media_config cfg = {.address = "127.0.0.1",
                               .port_min = 21300,
                               .port_max = 21399,
                               .max_sessions = 2,
                               .threads = 1};
    char err[256];
    struct media_engine *eng = media_engine_create(&cfg, err, sizeof err);
    assert_non_null(eng);
    c.media = media_session_create(eng, "cdr-test", err, sizeof err);
    assert_non_null(c.media);
    call_cdr_fill(&c, 2000, &r);
    /* No RTP yet: no codec, counters at zero, unknowns as null; valid JSON either way. */
    assert_string_equal(r.codec_b, "");
    for (int leg = 0; leg < 2; leg++) {
        json_error_t jerr;
        json_t *j = json_loads(leg ? r.media_b : r.media_a, 0, &jerr);
        assert_non_null(j);
        assert_int_equal(json_integer_value(json_object_get(j, "packets_in")), 0);
        assert_true(json_is_null(json_object_get(j, "rtt_ms")));
        assert_true(json_is_null(json_object_get(j, "mos")));
        assert_int_equal(json_integer_value(json_object_get(j, "payload_type")), -1);
        json_decref(j);
    }
    media_session_destroy(c.media);
    media_engine_destroy(eng);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answered_call_carries_what_call_control_set),
        cmocka_unit_test(cancel_during_lookup_is_a_487_by_the_caller),
        cmocka_unit_test(call_torn_down_while_ringing_is_the_systems),
        cmocka_unit_test(media_stats_are_json_and_absent_without_media),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
