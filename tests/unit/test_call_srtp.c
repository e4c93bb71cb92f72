/* Unit tests for node/sip/call_srtp.c: which legs of a call are SRTP, the node's keys, and the
 * SDP each party is sent (a real media session keys the legs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "media/media.h"
#include "sip/call.h"

#define KEY_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd"

static const char savp[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\n"
                           "t=0 0\r\nm=audio 4000 RTP/SAVP 0\r\n"
                           "a=crypto:4 AES_CM_128_HMAC_SHA1_32 inline:" KEY_B64 "\r\n";
static const char avp[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.6\r\ns=-\r\nc=IN IP4 192.0.2.6\r\n"
                          "t=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";

struct fixture {
    struct media_engine *eng;
    struct call c;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    struct media_config cfg = {.address = "127.0.0.1",
                               .port_min = 21700,
                               .port_max = 21799,
                               .max_sessions = 2,
                               .threads = 1};
    char err[256];
    f->eng = media_engine_create(&cfg, err, sizeof err);
    assert_non_null(f->eng);
    f->c.media = media_session_create(f->eng, "srtp-call", err, sizeof err);
    assert_non_null(f->c.media);
    strcpy(f->c.media_ip, "127.0.0.1");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    media_session_destroy(f->c.media);
    media_engine_destroy(f->eng);
    for (int leg = 0; leg < 2; leg++) { /* the SDP the call keeps for its record */
        free(f->c.sdp_sent[leg]);
        free(f->c.sdp_party[leg]);
    }
    free(f);
    return 0;
}

static struct sdp_audio parse(const char *sdp)
{
    struct sdp_audio a;
    assert_int_equal(sdp_audio_find(sdp, strlen(sdp), &a), 0);
    return a;
}

static void srtp_caller_gets_srtp_on_both_legs_with_node_keys(void **state)
{
    struct call *c = &((struct fixture *)*state)->c;
    struct sdp_audio a = parse(savp);
    assert_int_equal(call_srtp_offer(c, &a), 0);
    assert_true(c->srtp_call && c->srtp[MEDIA_LEG_A].on && c->srtp[MEDIA_LEG_B].on);
    assert_int_equal(c->srtp[MEDIA_LEG_A].node.tag, 4); /* the answer to A repeats A's tag */
    assert_string_equal(c->srtp[MEDIA_LEG_A].node.suite, "AES_CM_128_HMAC_SHA1_32");
    assert_memory_not_equal(c->srtp[MEDIA_LEG_A].node.key, a.crypto.key, SDP_SRTP_KEY_LEN);

    char *to_b = call_srtp_rewrite(c, MEDIA_LEG_B, savp, strlen(savp), 30000);
    assert_non_null(to_b);
    struct sdp_audio b = parse(to_b);
    assert_true(b.savp && b.has_crypto);
    assert_memory_equal(b.crypto.key, c->srtp[MEDIA_LEG_B].node.key, SDP_SRTP_KEY_LEN);
    assert_null(strstr(to_b, KEY_B64));
    free(to_b);

    /* B answers plain: its leg falls back to plain, A's stays SRTP. */
    struct sdp_audio ans = parse(avp);
    assert_int_equal(call_srtp_learn(c, MEDIA_LEG_B, &ans), 0);
    assert_false(c->srtp[MEDIA_LEG_B].on);
    char *to_a = call_srtp_rewrite(c, MEDIA_LEG_A, avp, strlen(avp), 30002);
    assert_non_null(to_a);
    struct sdp_audio back = parse(to_a);
    assert_true(back.savp && back.has_crypto);
    assert_memory_equal(back.crypto.key, c->srtp[MEDIA_LEG_A].node.key, SDP_SRTP_KEY_LEN);
    free(to_a);
}

static void gateway_leg_is_always_plain(void **state)
{
    struct call *c = &((struct fixture *)*state)->c;
    c->plan = (struct gw_plan *)c; /* any non-NULL plan marks a call to gateways */
    struct sdp_audio a = parse(savp);
    assert_int_equal(call_srtp_offer(c, &a), 0);
    c->plan = NULL;
    assert_true(c->srtp[MEDIA_LEG_A].on);
    assert_false(c->srtp[MEDIA_LEG_B].on);
    char *to_b = call_srtp_rewrite(c, MEDIA_LEG_B, savp, strlen(savp), 30000);
    assert_non_null(to_b);
    assert_non_null(strstr(to_b, "RTP/AVP"));
    assert_null(strstr(to_b, "crypto"));
    free(to_b);
}

static void plain_caller_keeps_the_sdp_as_it_was(void **state)
{
    struct call *c = &((struct fixture *)*state)->c;
    struct sdp_audio a = parse(avp);
    assert_int_equal(call_srtp_offer(c, &a), 0);
    assert_false(c->srtp_call || c->srtp[MEDIA_LEG_A].on || c->srtp[MEDIA_LEG_B].on);
    char *to_b = call_srtp_rewrite(c, MEDIA_LEG_B, avp, strlen(avp), 30000);
    assert_non_null(to_b);
    assert_non_null(strstr(to_b, "m=audio 30000 RTP/AVP 0"));
    free(to_b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(srtp_caller_gets_srtp_on_both_legs_with_node_keys, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(gateway_leg_is_always_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(plain_caller_keeps_the_sdp_as_it_was, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
