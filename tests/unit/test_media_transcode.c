/* Unit tests for node/media/media_transcode.c: what a phone receives from a transcoded leg.
 * Payload type and codec (the tone survives), one continuous stream (SSRC, sequence, timestamps
 * in the receiver's clock) across the start and end of transcoding, other ptimes cut into
 * 20 ms frames, losses and late packets, and RFC 4733 events moved to the receiver's clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "media/media_rtp.h"
#include "media/media_transcode.h"
#include "tone_test_util.h"

#include <string.h>

#define CAP 2048

struct sender {
    struct media_encoder *enc;
    int codec, rate, pt;
    uint32_t ssrc, ts;
    uint16_t seq;
    long phase;
};

static void sender_init(struct sender *s, int codec, int pt, uint32_t ssrc, uint16_t seq,
                        uint32_t ts)
{
    memset(s, 0, sizeof *s);
    s->codec = codec;
    s->rate = 8000;
    s->enc = media_encoder_create(codec, s->rate);
    assert_non_null(s->enc);
    s->pt = pt;
    s->ssrc = ssrc;
    s->seq = seq;
    s->ts = ts;
}

static void header(uint8_t *p, int pt, uint16_t seq, uint32_t ts, uint32_t ssrc, int marker)
{
    p[0] = 0x80;
    p[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
    p[2] = (uint8_t)(seq >> 8);
    p[3] = (uint8_t)seq;
    for (int i = 0; i < 4; i++) {
        p[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
        p[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
    }
}

/* The next packet of ms milliseconds (a multiple of 20 for Opus) of a 1 kHz tone. */
static size_t sender_next(struct sender *s, uint8_t *pkt, int ms)
{
    int16_t pcm[1000];
    int n = s->rate * ms / 1000;
    tone_fill(pcm, (size_t)n, 1000, s->rate, 8000, &s->phase);
    int len;
    if (ms % 20 == 0) {
        len = media_encode(s->enc, pcm, (size_t)n, pkt + 12, CAP - 12);
    } else { /* G.711 at 10 or 30 ms: one byte per sample, so a padded frame's head will do */
        int16_t pad[480] = {0};
        memcpy(pad, pcm, (size_t)n * sizeof pcm[0]);
        int whole = (n + 159) / 160 * 160;
        assert_int_equal(media_encode(s->enc, pad, (size_t)whole, pkt + 12, CAP - 12), whole);
        len = n;
    }
    assert_true(len > 0);
    header(pkt, s->pt, s->seq, s->ts, s->ssrc, 0);
    s->seq++;
    s->ts += (uint32_t)(media_codec_info(s->codec)->rtp_clock * ms / 1000);
    return 12 + (size_t)len;
}

struct got {
    int pt;
    uint16_t seq;
    uint32_t ts, ssrc;
};

static struct got parse(const uint8_t *p)
{
    struct got g = {media_rtp_payload_type(p), media_rtp_seq(p), media_rtp_timestamp(p),
                    media_rtp_ssrc(p)};
    return g;
}

static void pcmu_to_opus_keeps_tone_and_numbering(void **state)
{
    (void)state;
    struct media_transcode t = {0, MEDIA_CODEC_PCMU, 111, MEDIA_CODEC_OPUS, -1, 0, -1, 0};
    struct media_xcode *x = media_xcode_create(&t);
    assert_non_null(x);
    struct media_ostream o = {0};
    struct sender a;
    sender_init(&a, MEDIA_CODEC_PCMU, 0, 0xaaaa0001, 65530, 0xfffffe00); /* both wrap */
    struct media_decoder *d = media_decoder_create(MEDIA_CODEC_OPUS, 8000);
    static int16_t heard[8000];
    size_t nheard = 0;
    struct got prev = {0};
    for (int i = 0; i < 25; i++) {
        uint8_t pkt[CAP];
        size_t len = sender_next(&a, pkt, 20);
        assert_int_equal(media_xcode_packet(x, &o, pkt, &len, CAP), MEDIA_XC_SEND);
        struct got g = parse(pkt);
        assert_int_equal(g.pt, 111);
        assert_true(g.ssrc == 0xaaaa0001u);
        assert_int_equal(pkt[1] >> 7, i == 0); /* marker on the first packet only */
        if (i > 0) {
            assert_int_equal((uint16_t)(g.seq - prev.seq), 1);
            assert_int_equal(g.ts - prev.ts, 960); /* 20 ms at Opus's 48 kHz clock */
        }
        prev = g;
        int n = media_decode(d, pkt + 12, len - 12, heard + nheard, 8000 - nheard);
        assert_int_equal(n, 160);
        nheard += (size_t)n;
    }
    double ratio;
    assert_int_equal(tone_dominant(heard + nheard - 2400, 2400, 8000, &ratio), 1000);
    media_decoder_free(d);
    media_encoder_free(a.enc);
    media_xcode_free(x);
}

static void opus_to_pcmu_and_g722_to_pcma(void **state)
{
    (void)state;
    static const struct {
        int from, from_pt, to, to_pt, clock_step;
    } cases[] = {{MEDIA_CODEC_OPUS, 96, MEDIA_CODEC_PCMU, 0, 960},
                 {MEDIA_CODEC_G722, 9, MEDIA_CODEC_PCMA, 8, 160},
                 {MEDIA_CODEC_PCMU, 0, MEDIA_CODEC_G722, 9, 160}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct media_transcode t = {
            cases[c].from_pt, cases[c].from, cases[c].to_pt, cases[c].to, -1, 0, -1, 0};
        struct media_xcode *x = media_xcode_create(&t);
        assert_non_null(x);
        struct media_ostream o = {0};
        struct sender b;
        sender_init(&b, cases[c].from, cases[c].from_pt, 77, 100, 1000);
        struct media_decoder *d = media_decoder_create(cases[c].to, 8000);
        static int16_t heard[8000];
        size_t nheard = 0;
        for (int i = 0; i < 25; i++) {
            uint8_t pkt[CAP];
            size_t len = sender_next(&b, pkt, 20);
            assert_int_equal(media_xcode_packet(x, &o, pkt, &len, CAP), MEDIA_XC_SEND);
            assert_int_equal(media_rtp_payload_type(pkt), cases[c].to_pt);
            assert_int_equal(len, 12 + 160);
            nheard += (size_t)media_decode(d, pkt + 12, len - 12, heard + nheard, 8000 - nheard);
        }
        assert_int_equal(o.dur, 160); /* the receiver's clock: 8 kHz for all three */
        double ratio;
        assert_int_equal(tone_dominant(heard + nheard - 2400, 2400, 8000, &ratio), 1000);
        assert_true(ratio > 20);
        media_decoder_free(d);
        media_encoder_free(b.enc);
        media_xcode_free(x);
    }
}

/* A re-INVITE turns transcoding on and off under a running call: B's phone must see one SSRC,
 * sequence numbers one apart and timestamps one frame apart in its clock at each switch. */
static void one_stream_across_codec_changes(void **state)
{
    (void)state;
    struct media_ostream o = {0};
    struct sender a;
    sender_init(&a, MEDIA_CODEC_PCMU, 0, 0x1111, 5000, 80000);
    uint8_t pkt[CAP];
    size_t len;
    for (int i = 0; i < 5; i++) { /* shared codec: forwarded untouched */
        len = sender_next(&a, pkt, 20);
        media_ostream_pass(&o, pkt, len);
        struct got g = parse(pkt);
        assert_true(g.ssrc == 0x1111 && g.seq == 5000 + i && g.ts == 80000u + 160u * i);
    }
    /* B now takes only Opus: A's PCMU is transcoded. */
    struct media_transcode t = {0, MEDIA_CODEC_PCMU, 111, MEDIA_CODEC_OPUS, -1, 0, -1, 0};
    struct media_xcode *x = media_xcode_create(&t);
    len = sender_next(&a, pkt, 20);
    assert_int_equal(media_xcode_packet(x, &o, pkt, &len, CAP), MEDIA_XC_SEND);
    struct got g = parse(pkt);
    assert_true(g.ssrc == 0x1111 && g.seq == 5005 && g.ts == 80000u + 160u * 5);
    assert_int_equal(pkt[1], 0x80 | 111); /* marker: a new codec starts */
    len = sender_next(&a, pkt, 20);
    assert_int_equal(media_xcode_packet(x, &o, pkt, &len, CAP), MEDIA_XC_SEND);
    g = parse(pkt);
    assert_true(g.seq == 5006 && g.ts == 80000u + 160u * 5 + 960u);
    media_xcode_free(x);
    /* Back to a shared codec, and A's phone restarted its numbering with a new SSRC. */
    struct sender a2;
    sender_init(&a2, MEDIA_CODEC_PCMU, 0, 0x2222, 9, 424242);
    for (int i = 0; i < 3; i++) {
        len = sender_next(&a2, pkt, 20);
        media_ostream_pass(&o, pkt, len);
        g = parse(pkt);
        assert_true(g.ssrc == 0x1111);
        assert_int_equal(g.seq, 5007 + i);
        assert_true(g.ts == 80000u + 160u * 5 + 960u * 2 + 160u * i);
    }
    media_encoder_free(a.enc);
    media_encoder_free(a2.enc);
}

/* A transcoder built afresh for the same call (a successor after a failover) continues the
 * stream the phone was receiving: same SSRC, and sequence numbers and timestamps that moved
 * together over the outage, in both directions between 8 and 48 kHz clocks. */
static void a_new_transcoder_continues_the_stream(void **state)
{
    (void)state;
    static const struct {
        int from, to, from_pt, to_pt;
        uint32_t ts0, frame_out;
    } dirs[] = {{MEDIA_CODEC_PCMU, MEDIA_CODEC_OPUS, 0, 111, 0x2aaaaaa0u, 960},
                {MEDIA_CODEC_OPUS, MEDIA_CODEC_PCMU, 111, 0, 0x12345600u, 160}};
    for (size_t k = 0; k < sizeof dirs / sizeof dirs[0]; k++) {
        struct media_transcode t = {
            dirs[k].from_pt, dirs[k].from, dirs[k].to_pt, dirs[k].to, -1, 0, -1, 0};
        struct sender a;
        sender_init(&a, dirs[k].from, dirs[k].from_pt, 0x5151, 400, dirs[k].ts0);
        struct got before = {0}, after = {0};
        for (int life = 0; life < 2; life++) {
            struct media_xcode *x = media_xcode_create(&t);
            struct media_ostream o = {0};
            assert_non_null(x);
            for (int i = 0; i < 5; i++) {
                uint8_t pkt[CAP];
                size_t len = sender_next(&a, pkt, 20);
                assert_int_equal(media_xcode_packet(x, &o, pkt, &len, CAP), MEDIA_XC_SEND);
                if (life == 0)
                    before = parse(pkt);
                else if (i == 0)
                    after = parse(pkt);
            }
            media_xcode_free(x);
            for (int lost = 0; lost < 7; lost++) { /* the outage: the sender goes on */
                uint8_t pkt[CAP];
                sender_next(&a, pkt, 20);
            }
        }
        assert_true(after.ssrc == before.ssrc);
        uint16_t dseq = (uint16_t)(after.seq - before.seq);
        assert_int_equal(dseq, 8);
        assert_true(after.ts - before.ts == dseq * dirs[k].frame_out);
        media_encoder_free(a.enc);
    }
}

static void other_ptimes_become_20ms_frames(void **state)
{
    (void)state;
    struct media_transcode t = {8, MEDIA_CODEC_PCMA, 9, MEDIA_CODEC_G722, -1, 0, -1, 0};
    struct media_xcode *x = media_xcode_create(&t);
    struct media_ostream o = {0};
    struct sender a;
    sender_init(&a, MEDIA_CODEC_PCMA, 8, 5, 1, 0);
    uint8_t pkt[CAP];
    size_t len = sender_next(&a, pkt, 10);
    assert_int_equal(media_xcode_packet(x, &o, pkt, &len, CAP), MEDIA_XC_ABSORB);
    len = sender_next(&a, pkt, 10);
    assert_int_equal(media_xcode_packet(x, &o, pkt, &len, CAP), MEDIA_XC_SEND);
    assert_int_equal(len, 12 + 160); /* 20 ms of G.722 */
    struct got first = parse(pkt);
    assert_true(first.ts == 0);
    /* 30 ms packets: 20 ms out, then 40 ms (20 + the 10 left over and 30 new, cut at 40). */
    len = sender_next(&a, pkt, 30);
    assert_int_equal(media_xcode_packet(x, &o, pkt, &len, CAP), MEDIA_XC_SEND);
    assert_int_equal(len, 12 + 160);
    struct got g = parse(pkt);
    assert_true(g.ts == 160 && g.seq == (uint16_t)(first.seq + 1));
    len = sender_next(&a, pkt, 30);
    assert_int_equal(media_xcode_packet(x, &o, pkt, &len, CAP), MEDIA_XC_SEND);
    assert_int_equal(len, 12 + 320);
    g = parse(pkt);
    assert_true(g.ts == 320 && g.seq == (uint16_t)(first.seq + 2));
    media_encoder_free(a.enc);
    media_xcode_free(x);
}

static void losses_show_and_late_packets_go(void **state)
{
    (void)state;
    struct media_transcode t = {0, MEDIA_CODEC_PCMU, 8, MEDIA_CODEC_PCMA, -1, 0, -1, 0};
    struct media_xcode *x = media_xcode_create(&t);
    struct media_ostream o = {0};
    struct sender a;
    sender_init(&a, MEDIA_CODEC_PCMU, 0, 5, 100, 1600);
    uint8_t pkt[CAP], late[CAP];
    size_t len = sender_next(&a, pkt, 20), late_len;
    assert_int_equal(media_xcode_packet(x, &o, pkt, &len, CAP), MEDIA_XC_SEND);
    late_len = sender_next(&a, late, 20); /* seq 101: overtaken on the way */
    sender_next(&a, pkt, 20);             /* seq 102: lost */
    len = sender_next(&a, pkt, 20);       /* seq 103 */
    assert_int_equal(media_xcode_packet(x, &o, pkt, &len, CAP), MEDIA_XC_SEND);
    struct got g = parse(pkt);
    assert_true(g.seq == 103 && g.ts == 1600 + 3 * 160);
    assert_int_equal(media_xcode_packet(x, &o, late, &late_len, CAP), MEDIA_XC_DROP);
    /* A payload type the transcoder does not handle is left to the pass-through path. */
    header(pkt, 13, 104, 0, 5, 0);
    len = 13;
    assert_int_equal(media_xcode_packet(x, &o, pkt, &len, CAP), MEDIA_XC_PASS);
    media_encoder_free(a.enc);
    media_xcode_free(x);
}

static size_t event_packet(uint8_t *pkt, uint16_t seq, uint32_t ts, uint16_t duration, int end)
{
    header(pkt, 101, seq, ts, 0xe, 0);
    pkt[12] = 5; /* digit 5 */
    pkt[13] = (uint8_t)((end ? 0x80 : 0) | 10);
    pkt[14] = (uint8_t)(duration >> 8);
    pkt[15] = (uint8_t)duration;
    return 16;
}

static void events_move_to_the_receivers_clock(void **state)
{
    (void)state;
    struct media_transcode t = {0, MEDIA_CODEC_PCMU, 111, MEDIA_CODEC_OPUS, 101, 8000, 100, 48000};
    struct media_xcode *x = media_xcode_create(&t);
    struct media_ostream o = {0};
    struct sender a;
    sender_init(&a, MEDIA_CODEC_PCMU, 0, 0xe, 10, 8000);
    uint8_t pkt[CAP];
    size_t len;
    uint32_t last_audio_ts = 0;
    for (int i = 0; i < 3; i++) {
        len = sender_next(&a, pkt, 20);
        assert_int_equal(media_xcode_packet(x, &o, pkt, &len, CAP), MEDIA_XC_SEND);
        last_audio_ts = parse(pkt).ts;
    }
    /* The event starts where the next frame would (input ts 8480): 960 after the last frame. */
    uint32_t ev_ts = 0;
    for (int i = 0; i < 4; i++) {
        len = event_packet(pkt, (uint16_t)(13 + i), 8480, (uint16_t)(160 * (i + 1)), i == 3);
        assert_int_equal(media_xcode_packet(x, &o, pkt, &len, CAP), MEDIA_XC_SEND);
        struct got g = parse(pkt);
        assert_int_equal(g.pt, 100);
        assert_int_equal(len, 16);
        if (i == 0)
            ev_ts = g.ts;
        assert_true(g.ts == ev_ts); /* one timestamp for the whole event */
        assert_int_equal(g.seq, 13 + i);
        assert_int_equal((pkt[14] << 8) | pkt[15], 960 * (i + 1)); /* durations at 48 kHz */
        assert_int_equal(pkt[12], 5);
        assert_int_equal(pkt[13] >> 7, i == 3);
    }
    assert_true(ev_ts == last_audio_ts + 960);
    /* Without events on the receiving side they are dropped. */
    struct media_transcode t2 = t;
    t2.to_event_pt = -1;
    struct media_xcode *x2 = media_xcode_create(&t2);
    len = event_packet(pkt, 1, 0, 160, 0);
    assert_int_equal(media_xcode_packet(x2, &o, pkt, &len, CAP), MEDIA_XC_DROP);
    media_xcode_free(x2);
    media_encoder_free(a.enc);
    media_xcode_free(x);
}

static void bad_specs_are_refused(void **state)
{
    (void)state;
    struct media_transcode same = {0, MEDIA_CODEC_PCMU, 0, MEDIA_CODEC_PCMU, -1, 0, -1, 0};
    struct media_transcode rtcp_pt = {0, MEDIA_CODEC_PCMU, 72, MEDIA_CODEC_OPUS, -1, 0, -1, 0};
    struct media_transcode no_codec = {0, MEDIA_CODEC_NONE, 8, MEDIA_CODEC_PCMA, -1, 0, -1, 0};
    struct media_transcode no_hz = {0, MEDIA_CODEC_PCMU, 8, MEDIA_CODEC_PCMA, 101, 0, -1, 0};
    struct media_transcode clash = {0, MEDIA_CODEC_PCMU, 8, MEDIA_CODEC_PCMA, -1, 0, 8, 8000};
    assert_null(media_xcode_create(&same));
    assert_null(media_xcode_create(&rtcp_pt));
    assert_null(media_xcode_create(&no_codec));
    assert_null(media_xcode_create(&no_hz));
    assert_null(media_xcode_create(&clash));
    assert_null(media_xcode_create(NULL));
    struct media_transcode ok = {0, MEDIA_CODEC_PCMU, 8, MEDIA_CODEC_PCMA, 101, 8000, 101, 8000};
    struct media_xcode *x = media_xcode_create(&ok);
    assert_non_null(x);
    assert_true(media_xcode_same(x, &ok));
    ok.to_pt = 9;
    assert_false(media_xcode_same(x, &ok));
    media_xcode_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pcmu_to_opus_keeps_tone_and_numbering),
        cmocka_unit_test(opus_to_pcmu_and_g722_to_pcma),
        cmocka_unit_test(one_stream_across_codec_changes),
        cmocka_unit_test(a_new_transcoder_continues_the_stream),
        cmocka_unit_test(other_ptimes_become_20ms_frames),
        cmocka_unit_test(losses_show_and_late_packets_go),
        cmocka_unit_test(events_move_to_the_receivers_clock),
        cmocka_unit_test(bad_specs_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
