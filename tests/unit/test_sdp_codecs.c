/* Unit tests for node/sip/sdp_codecs.c: codec lists read from SDP (static types without an
 * rtpmap, fmtp, channels) and written back with the rest of the SDP untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sdp_codecs.h"

static const char offer[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\n"
                            "t=0 0\r\nm=audio 4000 RTP/AVP 0 111 101\r\n"
                            "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1\r\n"
                            "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
                            "a=ptime:20\r\nm=video 5000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n";

static void reads_static_dynamic_and_fmtp(void **state)
{
    (void)state;
    struct sdp_codecs l;
    assert_int_equal(sdp_codecs_read(offer, strlen(offer), &l), 0);
    assert_int_equal(l.n, 3); /* the audio stream only */
    assert_int_equal(l.c[0].pt, 0);
    assert_string_equal(l.c[0].name, "PCMU"); /* no rtpmap: RFC 3551's name */
    assert_int_equal(l.c[0].rate, 8000);
    assert_int_equal(l.c[1].pt, 111);
    assert_string_equal(l.c[1].name, "opus");
    assert_int_equal(l.c[1].rate, 48000);
    assert_string_equal(l.c[1].params, "2");
    assert_string_equal(l.c[1].fmtp, "useinbandfec=1");
    assert_true(sdp_codec_is_event(&l.c[2]));
    assert_string_equal(l.c[2].fmtp, "0-16");
    assert_int_equal(sdp_codecs_read("garbage", 7, &l), -1);
    assert_int_equal(sdp_codecs_read(NULL, 0, &l), -1);
}

static void writes_a_list_and_keeps_the_rest(void **state)
{
    (void)state;
    struct sdp_codecs l = {0};
    l.c[l.n++] = (struct sdp_codec){.pt = 9, .name = "G722", .rate = 8000};
    l.c[l.n++] = (struct sdp_codec){.pt = 0, .name = "PCMU", .rate = 8000};
    l.c[l.n++] = (struct sdp_codec){.pt = 97, .name = "opus", .rate = 48000, .params = "2"};
    l.c[l.n++] =
        (struct sdp_codec){.pt = 101, .name = "telephone-event", .rate = 8000, .fmtp = "0-15"};
    char *out = sdp_codecs_write(offer, strlen(offer), &l);
    assert_non_null(out);
    assert_non_null(strstr(out, "m=audio 4000 RTP/AVP 9 0 97 101\r\n"));
    assert_non_null(strstr(out, "a=rtpmap:97 opus/48000/2\r\n"));
    assert_non_null(strstr(out, "a=fmtp:101 0-15\r\n"));
    assert_null(strstr(out, "rtpmap:111"));
    assert_null(strstr(out, "useinbandfec"));
    assert_non_null(strstr(out, "a=ptime:20\r\n"));
    assert_non_null(strstr(out, "m=video 5000 RTP/AVP 96\r\n")); /* other streams untouched */
    assert_non_null(strstr(out, "c=IN IP4 192.0.2.5\r\n"));
    struct sdp_codecs back;
    assert_int_equal(sdp_codecs_read(out, strlen(out), &back), 0);
    assert_int_equal(back.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(back.c[i].pt, l.c[i].pt);
        assert_string_equal(back.c[i].name, l.c[i].name);
    }
    free(out);
    struct sdp_codecs empty = {0};
    assert_null(sdp_codecs_write(offer, strlen(offer), &empty));
}

static void find_matches_name_clock_and_channels(void **state)
{
    (void)state;
    struct sdp_codecs l;
    assert_int_equal(sdp_codecs_read(offer, strlen(offer), &l), 0);
    struct sdp_codec opus = {.pt = 96, .name = "OPUS", .rate = 48000, .params = "2"};
    struct sdp_codec mono = {.pt = 96, .name = "opus", .rate = 48000};
    struct sdp_codec pcmu = {.pt = 0, .name = "PCMU", .rate = 8000, .params = "1"};
    struct sdp_codec ev48 = {.pt = 100, .name = "telephone-event", .rate = 48000};
    assert_int_equal(sdp_codecs_find(&l, &opus), 1);
    assert_int_equal(sdp_codecs_find(&l, &mono), -1);
    assert_int_equal(sdp_codecs_find(&l, &pcmu), 0); /* "/1" is the default channel count */
    assert_int_equal(sdp_codecs_find(&l, &ev48), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_static_dynamic_and_fmtp),
        cmocka_unit_test(writes_a_list_and_keeps_the_rest),
        cmocka_unit_test(find_matches_name_clock_and_channels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
