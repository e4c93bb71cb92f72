/* Unit tests for node/media/media_codec.c: the codec table, and a 1 kHz tone encoded and decoded
 * in 20 ms frames by every codec at every PCM rate it supports comes back as a 1 kHz tone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "media/media_codec.h"
#include "tone_test_util.h"

#include <string.h>

static void table_names_clocks_and_types(void **state)
{
    (void)state;
    assert_int_equal(media_codec_find("PCMU", 8000), MEDIA_CODEC_PCMU);
    assert_int_equal(media_codec_find("pcma", 8000), MEDIA_CODEC_PCMA);
    assert_int_equal(media_codec_find("G722", 8000), MEDIA_CODEC_G722);
    assert_int_equal(media_codec_find("OPUS", 48000), MEDIA_CODEC_OPUS);
    /* G.722 runs an 8000 Hz RTP clock (RFC 3551); at 16000 it is not the codec we know. */
    assert_int_equal(media_codec_find("G722", 16000), MEDIA_CODEC_NONE);
    assert_int_equal(media_codec_find("opus", 8000), MEDIA_CODEC_NONE);
    assert_int_equal(media_codec_find("G729", 8000), MEDIA_CODEC_NONE);
    assert_int_equal(media_codec_find(NULL, 8000), MEDIA_CODEC_NONE);
    assert_int_equal(media_codec_info(MEDIA_CODEC_OPUS)->rtp_clock, 48000);
    assert_int_equal(media_codec_info(MEDIA_CODEC_OPUS)->static_pt, -1);
    assert_int_equal(media_codec_info(MEDIA_CODEC_G722)->static_pt, 9);
    assert_int_equal(media_codec_info(MEDIA_CODEC_G722)->audio_rate, 16000);
    assert_null(media_codec_info(MEDIA_CODEC_NONE));
    assert_null(media_codec_info(MEDIA_CODEC_COUNT));
    assert_int_equal(media_codec_pivot_rate(MEDIA_CODEC_PCMU, MEDIA_CODEC_OPUS), 8000);
    assert_int_equal(media_codec_pivot_rate(MEDIA_CODEC_G722, MEDIA_CODEC_PCMA), 8000);
    assert_int_equal(media_codec_pivot_rate(MEDIA_CODEC_G722, MEDIA_CODEC_OPUS), 16000);
}

static void coders_refuse_what_they_cannot_do(void **state)
{
    (void)state;
    assert_null(media_decoder_create(MEDIA_CODEC_PCMU, 16000)); /* G.711 is narrowband */
    assert_null(media_encoder_create(MEDIA_CODEC_OPUS, 44100));
    assert_null(media_encoder_create(MEDIA_CODEC_NONE, 8000));
    struct media_encoder *e = media_encoder_create(MEDIA_CODEC_PCMU, 8000);
    assert_non_null(e);
    int16_t pcm[170] = {0};
    uint8_t out[400];
    assert_int_equal(media_encode(e, pcm, 170, out, sizeof out), -1); /* not 20 ms frames */
    assert_int_equal(media_encode(e, pcm, 160, out, 100), -1);        /* no room */
    assert_int_equal(media_encode(e, pcm, 160, out, sizeof out), 160);
    media_encoder_free(e);
    struct media_decoder *d = media_decoder_create(MEDIA_CODEC_OPUS, 8000);
    assert_non_null(d);
    assert_int_equal(media_decode(d, out, 0, pcm, 160), -1);
    media_decoder_free(d);
    media_encoder_free(NULL);
    media_decoder_free(NULL);
}

/* 500 ms of a hz tone through codec at rate; returns the dominant frequency of the last 300 ms
 * decoded (past any codec delay) and checks every frame's payload size on the way. */
static int round_trip(int codec, int rate, int hz, size_t want_bytes, double *ratio)
{
    struct media_encoder *e = media_encoder_create(codec, rate);
    struct media_decoder *d = media_decoder_create(codec, rate);
    assert_non_null(e);
    assert_non_null(d);
    int frame = media_codec_frame(rate);
    static int16_t decoded[16000];
    size_t got = 0;
    long phase = 0;
    for (int f = 0; f < 25; f++) {
        int16_t pcm[320];
        uint8_t payload[1500];
        tone_fill(pcm, (size_t)frame, hz, rate, 8000, &phase);
        int n = media_encode(e, pcm, (size_t)frame, payload, sizeof payload);
        assert_true(n > 0);
        if (want_bytes)
            assert_int_equal(n, want_bytes);
        int m = media_decode(d, payload, (size_t)n, decoded + got, sizeof decoded / 2 - got);
        assert_int_equal(m, frame);
        got += (size_t)m;
    }
    media_encoder_free(e);
    media_decoder_free(d);
    size_t tail = (size_t)rate * 3 / 10;
    return tone_dominant(decoded + got - tail, tail, rate, ratio);
}

static void each_codec_carries_a_1khz_tone(void **state)
{
    (void)state;
    static const struct {
        int codec, rate;
        size_t bytes; /* per 20 ms; 0 for a variable-rate codec */
    } cases[] = {
        {MEDIA_CODEC_PCMU, 8000, 160}, {MEDIA_CODEC_PCMA, 8000, 160},
        {MEDIA_CODEC_G722, 8000, 160}, {MEDIA_CODEC_G722, 16000, 160},
        {MEDIA_CODEC_OPUS, 8000, 0},   {MEDIA_CODEC_OPUS, 16000, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double ratio = 0;
        int hz = round_trip(cases[i].codec, cases[i].rate, 1000, cases[i].bytes, &ratio);
        print_message("%s at %d Hz: dominant %d Hz, %.0fx the next\n",
                      media_codec_info(cases[i].codec)->name, cases[i].rate, hz, ratio);
        assert_int_equal(hz, 1000);
        assert_true(ratio > 20);
    }
}

/* The check can fail: another tone is found as itself, not as 1 kHz. */
static void another_tone_is_told_apart(void **state)
{
    (void)state;
    double ratio = 0;
    assert_int_equal(round_trip(MEDIA_CODEC_OPUS, 8000, 600, 0, &ratio), 600);
    assert_int_equal(round_trip(MEDIA_CODEC_PCMA, 8000, 2200, 160, &ratio), 2200);
    int16_t silence[800] = {0};
    assert_int_equal(tone_dominant(silence, 800, 8000, &ratio), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_names_clocks_and_types),
        cmocka_unit_test(coders_refuse_what_they_cannot_do),
        cmocka_unit_test(each_codec_carries_a_1khz_tone),
        cmocka_unit_test(another_tone_is_told_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
