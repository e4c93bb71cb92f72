/* Unit test for the call record (node/sip/calls.c): what one node writes to Redis, another reads
 * back whole, so every field must survive the round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "media/media_codec.h"
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

/* A transcoded call with DTMF translation and call slots: a successor must rebuild all three
 * from the record alone (call_recover.c). */
static void media_state_round_trips(void **state)
{
    (void)state;
    struct call c = {0}, back = {0}, plain = {0};
    strcpy(c.uuid, "0b9e3f3c-4a7e-4c9a-9d55-2f0d1c7e8a12");
    strcpy(c.media_ip, "192.0.2.1");
    c.state = CALL_CONFIRMED;
    strcpy(c.a.call_id, "abc@phone");
    strcpy(c.b.call_id, "uuid-1@tandem");
    /* PCMU caller (events 101 at 8 kHz), Opus callee (111, events 110 at 48 kHz) */
    c.codecs.xc_on[MEDIA_LEG_A] = 1;
    c.codecs.xc[MEDIA_LEG_A] =
        (struct media_transcode){111, MEDIA_CODEC_OPUS, 0, MEDIA_CODEC_PCMU, 110, 48000, 101, 8000};
    c.codecs.xc_on[MEDIA_LEG_B] = 1;
    c.codecs.xc[MEDIA_LEG_B] =
        (struct media_transcode){0, MEDIA_CODEC_PCMU, 111, MEDIA_CODEC_OPUS, -1, 0, -1, 0};
    c.dtmf_translate = 1;
    c.dtmf_pt_a = 101;
    strcpy(c.gw_slot, "7d0c1a2b-0000-4000-8000-000000000001");
    strcpy(c.tenant_slot, "5c1b3c2a-1111-4222-8333-944455556666");

    json_t *j = call_to_json(&c);
    assert_non_null(j);
    /* through text, as Redis holds it */
    char *text = json_dumps(j, 0);
    json_decref(j);
    assert_non_null(text);
    j = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(j);
    assert_int_equal(call_from_json(&back, j), 0);
    json_decref(j);
    for (int leg = MEDIA_LEG_A; leg <= MEDIA_LEG_B; leg++) {
        assert_int_equal(back.codecs.xc_on[leg], 1);
        assert_memory_equal(&back.codecs.xc[leg], &c.codecs.xc[leg], sizeof c.codecs.xc[leg]);
    }
    assert_int_equal(back.dtmf_translate, 1);
    assert_int_equal(back.dtmf_pt_a, 101);
    assert_int_equal(back.dtmf_translate_b, 0);

    /* The other way round: the callee has telephone-event, the caller not. */
    c.dtmf_translate = 0;
    c.dtmf_translate_b = 1;
    c.dtmf_pt_b = 96;
    memset(&back, 0, sizeof back);
    j = call_to_json(&c);
    assert_int_equal(call_from_json(&back, j), 0);
    json_decref(j);
    assert_int_equal(back.dtmf_translate, 0);
    assert_int_equal(back.dtmf_translate_b, 1);
    assert_int_equal(back.dtmf_pt_b, 96);
    assert_string_equal(back.gw_slot, c.gw_slot);
    assert_string_equal(back.tenant_slot, c.tenant_slot);

    /* A plain call: nothing to transcode or translate, no slots. */
    strcpy(plain.uuid, c.uuid);
    strcpy(plain.a.call_id, "x@phone");
    strcpy(plain.b.call_id, "y@tandem");
    memset(&back, 0, sizeof back);
    j = call_to_json(&plain);
    assert_int_equal(call_from_json(&back, j), 0);
    json_decref(j);
    assert_int_equal(back.codecs.xc_on[0] | back.codecs.xc_on[1], 0);
    assert_int_equal(back.dtmf_translate, 0);
    assert_string_equal(back.gw_slot, "");
    assert_string_equal(back.tenant_slot, "");
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
        cmocka_unit_test(media_state_round_trips),
        cmocka_unit_test(incomplete_record_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
