/* Unit tests for node/sip/dtmf_info.c: INFO bodies both content types, and the SDP's
 * telephone-event found and added. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sip/dtmf_info.h"

static int parse(const char *ctype, const char *body, int *event, int *ms)
{
    return dtmf_info_parse(ctype, body, strlen(body), event, ms);
}

static void dtmf_relay_bodies(void **state)
{
    (void)state;
    int ev, ms;
    assert_int_equal(parse("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", &ev, &ms), 0);
    assert_int_equal(ev, 5);
    assert_int_equal(ms, 160);
    assert_int_equal(parse("Application/DTMF-Relay", "signal = #\nduration= 250", &ev, &ms), 0);
    assert_int_equal(ev, 11);
    assert_int_equal(ms, 250);
    assert_int_equal(parse("application/dtmf-relay", "Signal=11\r\n", &ev, &ms), 0);
    assert_int_equal(ev, 11);
    assert_int_equal(ms, DTMF_INFO_DEFAULT_MS);
    assert_int_equal(parse("application/dtmf-relay", "Signal=5\r\nDuration=1\r\n", &ev, &ms), 0);
    assert_int_equal(ms, DTMF_INFO_MIN_MS);
    assert_int_equal(parse("application/dtmf-relay", "Signal=5\r\nDuration=99999\r\n", &ev, &ms),
                     0);
    assert_int_equal(ms, DTMF_INFO_MAX_MS);
    assert_int_equal(parse("application/dtmf-relay", "Duration=100\r\n", &ev, &ms), -1);
    assert_int_equal(parse("application/dtmf-relay", "Signal=X\r\n", &ev, &ms), -1);
    assert_int_equal(parse("application/dtmf-relay", "Signal=16\r\n", &ev, &ms), -1);
}

static void dtmf_bodies_and_others(void **state)
{
    (void)state;
    int ev, ms;
    assert_int_equal(parse("application/dtmf", "3\r\n", &ev, &ms), 0);
    assert_int_equal(ev, 3);
    assert_int_equal(ms, DTMF_INFO_DEFAULT_MS);
    assert_int_equal(parse("application/dtmf", "*", &ev, &ms), 0);
    assert_int_equal(ev, 10);
    assert_int_equal(parse("application/sdp", "Signal=5", &ev, &ms), -1);
    assert_int_equal(dtmf_info_parse(NULL, "5", 1, &ev, &ms), -1);
}

static void format_round_trips(void **state)
{
    (void)state;
    char body[64];
    int ev, ms;
    assert_true(dtmf_info_format(11, 120, body, sizeof body) > 0);
    assert_string_equal(body, "Signal=#\r\nDuration=120\r\n");
    assert_int_equal(parse("application/dtmf-relay", body, &ev, &ms), 0);
    assert_int_equal(ev, 11);
    assert_int_equal(ms, 120);
    assert_int_equal(dtmf_info_format(16, 120, body, sizeof body), -1);
    assert_int_equal(dtmf_info_format(1, 120, body, 8), -1);
}

static const char with_event[] = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n"
                                 "t=0 0\r\nm=audio 4000 RTP/AVP 0 8 96\r\na=rtpmap:0 PCMU/8000\r\n"
                                 "a=rtpmap:96 telephone-event/8000\r\na=sendrecv\r\n";
/* rtpmap present but the m= line does not list it: the party did not accept events */
static const char without[] = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n"
                              "t=0 0\r\nm=audio 4000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n"
                              "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

static void event_pt_in_sdp(void **state)
{
    (void)state;
    assert_int_equal(dtmf_sdp_event_pt(with_event, strlen(with_event)), 96);
    assert_int_equal(dtmf_sdp_event_pt(without, strlen(without)), -1);
    assert_int_equal(dtmf_sdp_event_pt("v=0\r\n", 5), -1);
}

static void add_event_to_sdp(void **state)
{
    (void)state;
    char *out = dtmf_sdp_add_event(without, 96);
    assert_non_null(out);
    assert_non_null(strstr(out, "m=audio 4000 RTP/AVP 0 8 96\r\na=rtpmap:96 telephone-event/8000"
                                "\r\na=fmtp:96 0-15\r\na=rtpmap:0 PCMU/8000\r\n"));
    assert_int_equal(dtmf_sdp_event_pt(out, strlen(out)), 96);
    assert_non_null(strstr(out, "a=sendrecv\r\n"));
    free(out);
    assert_null(dtmf_sdp_add_event("v=0\r\n", 96));
    /* 8 is PCMA in this offer: never a second meaning for one payload type */
    assert_null(dtmf_sdp_add_event(without, 8));
}

static void free_pt_prefers_101(void **state)
{
    (void)state;
    const char *plain = "v=0\r\nm=audio 4000 RTP/AVP 0 8\r\n";
    assert_int_equal(dtmf_sdp_free_pt(plain, strlen(plain)), 101);
    const char *taken = "v=0\r\nm=audio 4000 RTP/AVP 0 101 96\r\n";
    assert_int_equal(dtmf_sdp_free_pt(taken, strlen(taken)), 97);
    assert_int_equal(dtmf_sdp_free_pt("v=0\r\n", 5), -1);
}

static void drop_event_from_sdp(void **state)
{
    (void)state;
    const char *with = "v=0\r\nm=audio 4000 RTP/AVP 0 101 8\r\na=rtpmap:0 PCMU/8000\r\n"
                       "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
                       "a=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n";
    char *out = dtmf_sdp_drop_event(with);
    assert_non_null(out);
    assert_string_equal(out, "v=0\r\nm=audio 4000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n"
                             "a=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n");
    assert_int_equal(dtmf_sdp_event_pt(out, strlen(out)), -1);
    free(out);
    /* an added event comes off again, leaving the SDP as it was */
    const char *plain = "v=0\r\nm=audio 4000 RTP/AVP 0 8\r\na=sendrecv\r\n";
    char *added = dtmf_sdp_add_event(plain, 101);
    assert_non_null(added);
    out = dtmf_sdp_drop_event(added);
    assert_string_equal(out, plain);
    free(out);
    free(added);
    assert_null(dtmf_sdp_drop_event(plain)); /* none to drop */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dtmf_relay_bodies),   cmocka_unit_test(dtmf_bodies_and_others),
        cmocka_unit_test(format_round_trips),  cmocka_unit_test(event_pt_in_sdp),
        cmocka_unit_test(add_event_to_sdp),    cmocka_unit_test(free_pt_prefers_101),
        cmocka_unit_test(drop_event_from_sdp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
