/* Unit tests for node/sip/sdp_rewrite.c: finding the audio stream, hold detection, and the
 * rewrite that anchors audio on the node, and SDES SRTP (a=crypto, RTP/SAVP) read and written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
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

/* inline key: base64 of the 30 bytes 0x00..0x1d */
#define KEY_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd"

static const char srtp_offer[] = "v=0\r\n"
                                 "o=bob 1 1 IN IP4 192.0.2.20\r\n"
                                 "s=-\r\n"
                                 "c=IN IP4 192.0.2.20\r\n"
                                 "t=0 0\r\n"
                                 "m=audio 40000 RTP/SAVP 0\r\n"
                                 "a=crypto:1 F8_128_HMAC_SHA1_80 inline:" KEY_B64 "\r\n"
                                 "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64 "|2^20\r\n"
                                 "a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:" KEY_B64 "\r\n"
                                 "a=rtpmap:0 PCMU/8000\r\n";

static void reads_savp_and_the_first_supported_crypto_line(void **state)
{
    (void)state;
    struct sdp_audio a;
    assert_int_equal(sdp_audio_find(srtp_offer, strlen(srtp_offer), &a), 0);
    assert_true(a.savp);
    assert_true(a.has_crypto);
    assert_int_equal(a.crypto.tag, 2);
    assert_string_equal(a.crypto.suite, "AES_CM_128_HMAC_SHA1_80");
    for (int i = 0; i < SDP_SRTP_KEY_LEN; i++)
        assert_int_equal(a.crypto.key[i], i);
    assert_int_equal(sdp_audio_find(offer, strlen(offer), &a), 0);
    assert_false(a.savp);
    assert_false(a.has_crypto);
}

static void refuses_malformed_keys(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBka\r\n",
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64 "|2^20|1:4\r\n",
        "a=crypto:0 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64 "\r\n",
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 key:" KEY_B64 "\r\n",
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:!!!!CAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char sdp[512];
        snprintf(sdp, sizeof sdp,
                 "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
                 "m=audio 4000 RTP/SAVP 0\r\n%s",
                 bad[i]);
        struct sdp_audio a;
        assert_int_equal(sdp_audio_find(sdp, strlen(sdp), &a), 0);
        assert_true(a.savp);
        assert_false(a.has_crypto);
    }
}

static void rewrite_offers_savp_with_the_node_key_or_plain_avp(void **state)
{
    (void)state;
    struct sdp_crypto mine;
    assert_int_equal(sdp_crypto_generate(&mine, 7, "AES_CM_128_HMAC_SHA1_80"), 0);
    assert_int_equal(sdp_crypto_generate(&mine, 7, "NULL_HMAC"), -1);
    assert_int_equal(sdp_crypto_generate(&mine, 7, "AES_CM_128_HMAC_SHA1_80"), 0);

    char *out = sdp_rewrite_audio_srtp(offer, strlen(offer), "127.0.0.1", 20000, &mine);
    assert_non_null(out);
    assert_non_null(strstr(out, "m=audio 20000 RTP/SAVP 0 8 101\r\n"));
    assert_non_null(strstr(out, "a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:"));
    struct sdp_audio a;
    assert_int_equal(sdp_audio_find(out, strlen(out), &a), 0);
    assert_true(a.savp && a.has_crypto);
    assert_int_equal(a.crypto.tag, 7);
    assert_memory_equal(a.crypto.key, mine.key, SDP_SRTP_KEY_LEN);
    free(out);

    /* Toward SRTP: the party's own lines go, only the node's key is left. */
    out = sdp_rewrite_audio_srtp(srtp_offer, strlen(srtp_offer), "127.0.0.1", 20000, &mine);
    assert_non_null(out);
    const char *first = strstr(out, "a=crypto:");
    assert_non_null(first);
    assert_null(strstr(first + 1, "a=crypto:"));
    assert_null(strstr(out, KEY_B64));
    free(out);

    /* Toward plain RTP: RTP/AVP and no key at all. */
    out = sdp_rewrite_audio_srtp(srtp_offer, strlen(srtp_offer), "127.0.0.1", 20000, NULL);
    assert_non_null(out);
    assert_non_null(strstr(out, "m=audio 20000 RTP/AVP 0\r\n"));
    assert_null(strstr(out, "crypto"));
    free(out);

    /* The plain rewrite keeps whatever profile and keys there were. */
    out = sdp_rewrite_audio(srtp_offer, strlen(srtp_offer), "127.0.0.1", 20000);
    assert_non_null(out);
    assert_non_null(strstr(out, "RTP/SAVP"));
    assert_non_null(strstr(out, KEY_B64));
    free(out);
}

/* A successor re-offers what the node last sent, from its own address, one version higher; a
 * sendonly (held) stream stays held. */
static void reoffer_moves_media_and_bumps_the_version(void **state)
{
    (void)state;
    const char *sent = "v=0\r\no=bob 77 9 IN IP4 203.0.113.5\r\ns=-\r\nc=IN IP4 203.0.113.5\r\n"
                       "t=0 0\r\nm=audio 30000 RTP/AVP 0\r\na=sendonly\r\n";
    char *out = sdp_rewrite_reoffer(sent, strlen(sent), "198.51.100.7", 40002);
    assert_non_null(out);
    assert_non_null(strstr(out, "o=bob 77 10 IN IP4 198.51.100.7"));
    struct sdp_audio a;
    assert_int_equal(sdp_audio_find(out, strlen(out), &a), 0);
    assert_string_equal(a.ip, "198.51.100.7");
    assert_int_equal(a.port, 40002);
    assert_true(a.hold);
    free(out);
    assert_null(sdp_rewrite_reoffer("junk", 4, "198.51.100.7", 40002));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_the_audio_stream),
        cmocka_unit_test(detects_hold),
        cmocka_unit_test(rejects_garbage_and_audio_less_sdp),
        cmocka_unit_test(rewrite_anchors_audio_on_the_node),
        cmocka_unit_test(reads_savp_and_the_first_supported_crypto_line),
        cmocka_unit_test(refuses_malformed_keys),
        cmocka_unit_test(rewrite_offers_savp_with_the_node_key_or_plain_avp),
        cmocka_unit_test(reoffer_moves_media_and_bumps_the_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
