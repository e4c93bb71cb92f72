/* Unit tests for node/sip/sdp_rewrite.c: finding the audio stream, hold detection, and the
 * rewrite that anchors audio on the node. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sdp_rewrite.h"

static const char offer[] = "v=0\r\n"
                            "o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
                            "s=-\r\n"
                            "c=IN IP4 192.0.2.10\r\n"
                            "t=0 0\r\n"
                            "m=audio 49170 RTP/AVP 0 8 101\r\n"
                            "a=rtpmap:0 PCMU/8000\r\n"
                            "a=rtpmap:8 PCMA/8000\r\n"
                            "a=rtpmap:101 telephone-event/8000\r\n"
                            "a=rtcp:49300\r\n"
                            "a=candidate:1 1 UDP 2130706431 192.0.2.10 49170 typ host\r\n"
                            "m=video 51372 RTP/AVP 96\r\n"
                            "a=rtpmap:96 VP8/90000\r\n";

static void finds_the_audio_stream(void **state)
{
    (void)state;
    struct sdp_audio a;
    assert_int_equal(sdp_audio_find(offer, strlen(offer), &a), 0);
    assert_string_equal(a.ip, "192.0.2.10");
    assert_int_equal(a.port, 49170);
    assert_int_equal(a.rtcp_port, 49300);
    assert_false(a.hold);
}

static void detects_hold(void **state)
{
    (void)state;
    const char *sendonly =
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
    const char *zero = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
                       "m=audio 4000 RTP/AVP 0\r\n";
    struct sdp_audio a;
    assert_int_equal(sdp_audio_find(sendonly, strlen(sendonly), &a), 0);
    assert_true(a.hold);
    assert_int_equal(sdp_audio_find(zero, strlen(zero), &a), 0);
    assert_true(a.hold);
}

static void rejects_garbage_and_audio_less_sdp(void **state)
{
    (void)state;
    struct sdp_audio a;
    const char *video = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
                        "m=video 4000 RTP/AVP 96\r\n";
    assert_int_equal(sdp_audio_find("hello", 5, &a), -1);
    assert_int_equal(sdp_audio_find(video, strlen(video), &a), -1);
    assert_int_equal(sdp_audio_find(NULL, 0, &a), -1);
    assert_null(sdp_rewrite_audio("garbage", 7, "127.0.0.1", 20000));
}

static void rewrite_anchors_audio_on_the_node(void **state)
{
    (void)state;
    char *out = sdp_rewrite_audio(offer, strlen(offer), "127.0.0.1", 20000);
    assert_non_null(out);
    assert_non_null(strstr(out, "c=IN IP4 127.0.0.1\r\n"));
    assert_non_null(strstr(out, "m=audio 20000 RTP/AVP 0 8 101\r\n"));
    assert_non_null(strstr(out, "a=rtpmap:101 telephone-event/8000\r\n"));
    assert_non_null(strstr(out, "m=video 0 "));
    assert_null(strstr(out, "192.0.2.10"));
    assert_null(strstr(out, "a=rtcp:"));
    assert_null(strstr(out, "candidate"));
    struct sdp_audio a;
    assert_int_equal(sdp_audio_find(out, strlen(out), &a), 0);
    assert_string_equal(a.ip, "127.0.0.1");
    assert_int_equal(a.port, 20000);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_the_audio_stream),
        cmocka_unit_test(detects_hold),
        cmocka_unit_test(rejects_garbage_and_audio_less_sdp),
        cmocka_unit_test(rewrite_anchors_audio_on_the_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
