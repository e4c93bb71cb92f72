/* Unit tests for node/sip/call_codec.c: what the node adds to offers, how it fits answers to
 * them, and when it transcodes (a real media session takes the settings), for set-up and for
 * an offer from the callee mid-call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "media/media.h"
#include "sip/call.h"

#define HEAD "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"

struct fixture {
    struct media_engine *eng;
    struct call c;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    struct media_config cfg = {.address = "127.0.0.1",
                               .port_min = 21900,
                               .port_max = 21999,
                               .max_sessions = 2,
                               .threads = 1};
    char err[256];
    f->eng = media_engine_create(&cfg, err, sizeof err);
    assert_non_null(f->eng);
    f->c.media = media_session_create(f->eng, "codec-call", err, sizeof err);
    assert_non_null(f->c.media);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    media_session_destroy(f->c.media);
    media_engine_destroy(f->eng);
    for (int leg = 0; leg < 2; leg++) {
        free(f->c.sdp_party[leg]);
        free(f->c.sdp_sent[leg]);
    }
    free(f);
    return 0;
}

static struct sdp_codecs codecs(const char *sdp)
{
    struct sdp_codecs l;
    assert_int_equal(sdp_codecs_read(sdp, strlen(sdp), &l), 0);
    return l;
}

static char *offer(struct call *c, int from, const char *sdp)
{
    return call_codec_offer(c, from, strdup(sdp));
}

static char *answer(struct call *c, int from, const char *sdp)
{
    return call_codec_answer(c, from, strdup(sdp));
}

static const char pcmu_only[] = HEAD "m=audio 4000 RTP/AVP 0 101\r\n"
                                     "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n";

static void offer_gets_the_transcodable_codecs_after_the_callers(void **state)
{
    struct fixture *f = *state;
    char *b_offer = offer(&f->c, MEDIA_LEG_A, pcmu_only);
    struct sdp_codecs l = codecs(b_offer);
    /* A's own first, then PCMA, G.722, Opus, and events at Opus's clock. */
    assert_int_equal(l.n, 6);
    assert_int_equal(l.c[0].pt, 0);
    assert_int_equal(l.c[1].pt, 101);
    assert_int_equal(l.c[2].pt, 8);
    assert_int_equal(l.c[3].pt, 9);
    assert_string_equal(l.c[4].name, "opus");
    assert_int_equal(l.c[4].pt, 96);
    assert_string_equal(l.c[4].params, "2");
    assert_true(sdp_codec_is_event(&l.c[5]) && l.c[5].rate == 48000 && l.c[5].pt == 97);
    free(b_offer);
    /* A codec the node cannot transcode from: the offer goes as it came. */
    static const char g729[] = HEAD "m=audio 4000 RTP/AVP 18\r\n";
    char *same = offer(&f->c, MEDIA_LEG_A, g729);
    assert_string_equal(same, g729);
    free(same);
}

static void an_answer_in_a_foreign_codec_is_transcoded(void **state)
{
    struct fixture *f = *state;
    free(offer(&f->c, MEDIA_LEG_A, pcmu_only));
    static const char opus_ans[] = HEAD "m=audio 5000 RTP/AVP 96 97\r\n"
                                        "a=rtpmap:96 opus/48000/2\r\n"
                                        "a=rtpmap:97 telephone-event/48000\r\n";
    char *to_a = answer(&f->c, MEDIA_LEG_B, opus_ans);
    struct sdp_codecs l = codecs(to_a);
    /* A hears only what it offered: PCMU and its own events. */
    assert_int_equal(l.n, 2);
    assert_int_equal(l.c[0].pt, 0);
    assert_int_equal(l.c[1].pt, 101);
    assert_true(f->c.codecs.transcoding);
    assert_string_equal(f->c.codecs.name[MEDIA_LEG_A], "PCMU");
    assert_string_equal(f->c.codecs.name[MEDIA_LEG_B], "opus");
    char buf[32];
    assert_string_equal(call_codec_name(&f->c, MEDIA_LEG_B, 96, buf, sizeof buf), "opus");
    assert_string_equal(call_codec_name(&f->c, MEDIA_LEG_A, 0, buf, sizeof buf), "PCMU");
    free(to_a);

    /* The record keeps what each party was sent; a successor's re-offer to each leg (after a
     * failover) carries only the codecs that leg negotiated: B Opus, A PCMU. */
    l = codecs(f->c.sdp_sent[MEDIA_LEG_A]);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.c[0].pt, 0);
    call_note_sdp(&f->c, MEDIA_LEG_A, 1, pcmu_only, strlen(pcmu_only));
    call_note_sdp(&f->c, MEDIA_LEG_B, 1, opus_ans, strlen(opus_ans));
    char *re_b = call_codec_reoffer(&f->c, MEDIA_LEG_B, strdup(f->c.sdp_sent[MEDIA_LEG_B]));
    l = codecs(re_b);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.c[0].name, "opus");
    assert_int_equal(l.c[0].pt, 96);
    assert_int_equal(l.c[1].pt, 97);
    free(re_b);
    char *re_a = call_codec_reoffer(&f->c, MEDIA_LEG_A, strdup(f->c.sdp_sent[MEDIA_LEG_A]));
    l = codecs(re_a);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.c[0].pt, 0);
    assert_int_equal(l.c[1].pt, 101);
    free(re_a);

    /* Mid-call B offers again (a re-INVITE): A gets B's codecs and the node's, with the
     * numbers it was already given for them. */
    static const char b_reoffer[] = HEAD "m=audio 5000 RTP/AVP 96 97\r\n"
                                         "a=rtpmap:96 opus/48000/2\r\n"
                                         "a=rtpmap:97 telephone-event/48000\r\n";
    char *to_a_offer = offer(&f->c, MEDIA_LEG_B, b_reoffer);
    l = codecs(to_a_offer);
    assert_string_equal(l.c[0].name, "opus");
    assert_int_equal(sdp_codecs_find(&l, &(struct sdp_codec){.name = "PCMU", .rate = 8000}), 2);
    free(to_a_offer);
    /* A answers PCMU: B is answered Opus, still transcoded. */
    static const char a_ans[] = HEAD "m=audio 4000 RTP/AVP 0\r\n";
    char *to_b = answer(&f->c, MEDIA_LEG_A, a_ans);
    l = codecs(to_b);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.c[0].pt, 96);
    assert_true(f->c.codecs.transcoding);
    free(to_b);
}

static void a_transcoded_leg_is_reoffered_its_transcoders_codec_only(void **state)
{
    struct fixture *f = *state;
    free(offer(&f->c, MEDIA_LEG_A, pcmu_only));
    /* B answers two codecs A lacks: the first (Opus) is what it sends and is transcoded. */
    static const char two[] = HEAD "m=audio 5000 RTP/AVP 96 9 97\r\n"
                                   "a=rtpmap:96 opus/48000/2\r\n"
                                   "a=rtpmap:9 G722/8000\r\n"
                                   "a=rtpmap:97 telephone-event/48000\r\n";
    free(answer(&f->c, MEDIA_LEG_B, two));
    assert_true(f->c.codecs.transcoding);
    call_note_sdp(&f->c, MEDIA_LEG_B, 1, two, strlen(two));
    /* After a failover B is offered Opus and its events, not G.722: answering G.722 it would
     * send what the transcoder cannot decode. */
    char *re_b = call_codec_reoffer(&f->c, MEDIA_LEG_B, strdup(f->c.sdp_sent[MEDIA_LEG_B]));
    struct sdp_codecs l = codecs(re_b);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.c[0].name, "opus");
    assert_int_equal(l.c[0].pt, 96);
    assert_true(sdp_codec_is_event(&l.c[1]) && l.c[1].pt == 97);
    free(re_b);
}

static void a_shared_codec_is_not_transcoded(void **state)
{
    struct fixture *f = *state;
    free(offer(&f->c, MEDIA_LEG_A, pcmu_only));
    static const char pcmu_ans[] = HEAD "m=audio 5000 RTP/AVP 0 101\r\n"
                                        "a=rtpmap:101 telephone-event/8000\r\n";
    char *to_a = answer(&f->c, MEDIA_LEG_B, pcmu_ans);
    assert_string_equal(to_a, pcmu_ans); /* exactly what B said */
    assert_false(f->c.codecs.transcoding);
    free(to_a);
    /* B lists a node-added codec after the shared one: it is left out of A's answer. */
    free(offer(&f->c, MEDIA_LEG_A, pcmu_only));
    static const char both[] = HEAD "m=audio 5000 RTP/AVP 0 9\r\n";
    to_a = answer(&f->c, MEDIA_LEG_B, both);
    struct sdp_codecs l = codecs(to_a);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.c[0].pt, 0);
    assert_false(f->c.codecs.transcoding);
    free(to_a);
}

static void nothing_changes_without_media_here(void **state)
{
    struct fixture *f = *state;
    struct call remote = {0}; /* a call read from Redis: its media is on another node */
    char *same = offer(&remote, MEDIA_LEG_A, pcmu_only);
    assert_string_equal(same, pcmu_only);
    free(same);
    static const char opus_ans[] = HEAD "m=audio 5000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n";
    same = answer(&remote, MEDIA_LEG_B, opus_ans);
    assert_string_equal(same, opus_ans);
    free(same);
    (void)f;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(offer_gets_the_transcodable_codecs_after_the_callers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(an_answer_in_a_foreign_codec_is_transcoded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_transcoded_leg_is_reoffered_its_transcoders_codec_only,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_shared_codec_is_not_transcoded, setup, teardown),
        cmocka_unit_test_setup_teardown(nothing_changes_without_media_here, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
