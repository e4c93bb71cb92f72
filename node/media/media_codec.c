/* Codec table and coders: G.711 through spandsp's inline tables, G.722 through spandsp's
 * coder (its 8 kHz mode when the other side is narrowband), Opus through libopus at the pivot
 * rate (it resamples internally). Allocation happens only in create, on the signalling thread. */
#include "media/media_codec.h"

#include <opus.h>
#include <spandsp/telephony.h>

#include <spandsp/bit_operations.h> /* g711.h uses top_bit without including it */

#include <spandsp/g711.h>
#include <spandsp/g722.h>

#include <stdlib.h>
#include <strings.h>

/* Opus effort: 5 of 0..10. The encoder is most of a transcoded call's CPU: a PCMU<->Opus call
 * costs 3.0 ms of CPU per second at 5 against 5.0 ms at the default 10 (docs/performance.md),
 * and speech at telephone bitrates loses little for it. */
#define MEDIA_OPUS_COMPLEXITY 5

static const struct media_codec_info table[MEDIA_CODEC_COUNT] = {
    [MEDIA_CODEC_PCMU] = {"PCMU", 8000, 1, 0, 8000},
    [MEDIA_CODEC_PCMA] = {"PCMA", 8000, 1, 8, 8000},
    [MEDIA_CODEC_G722] = {"G722", 8000, 1, 9, 16000},
    [MEDIA_CODEC_OPUS] = {"opus", 48000, 2, -1, 48000},
};

const struct media_codec_info *media_codec_info(int codec)
{
    if (codec <= MEDIA_CODEC_NONE || codec >= MEDIA_CODEC_COUNT)
        return NULL;
    return &table[codec];
}

int media_codec_find(const char *name, int rtp_clock)
{
    for (int c = MEDIA_CODEC_NONE + 1; c < MEDIA_CODEC_COUNT; c++)
        if (name && strcasecmp(name, table[c].name) == 0 && rtp_clock == table[c].rtp_clock)
            return c;
    return MEDIA_CODEC_NONE;
}

static int narrowband(int codec)
{
    return codec == MEDIA_CODEC_PCMU || codec == MEDIA_CODEC_PCMA;
}

int media_codec_pivot_rate(int from, int to)
{
    return narrowband(from) || narrowband(to) ? 8000 : 16000;
}

static int rate_ok(int codec, int pcm_rate)
{
    if (!media_codec_info(codec) || (pcm_rate != 8000 && pcm_rate != 16000))
        return 0;
    return !narrowband(codec) || pcm_rate == 8000;
}

struct media_decoder {
    int codec, rate;
    g722_decode_state_t *g722;
    OpusDecoder *opus;
};

struct media_encoder {
    int codec, rate;
    g722_encode_state_t *g722;
    OpusEncoder *opus;
};

struct media_decoder *media_decoder_create(int codec, int pcm_rate)
{
    if (!rate_ok(codec, pcm_rate))
        return NULL;
    struct media_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->codec = codec;
    d->rate = pcm_rate;
    int err = OPUS_OK;
    if (codec == MEDIA_CODEC_G722)
        d->g722 = g722_decode_init(NULL, 64000, pcm_rate == 8000 ? G722_SAMPLE_RATE_8000 : 0);
    else if (codec == MEDIA_CODEC_OPUS)
        d->opus = opus_decoder_create(pcm_rate, 1, &err);
    if ((codec == MEDIA_CODEC_G722 && !d->g722) ||
        (codec == MEDIA_CODEC_OPUS && (!d->opus || err != OPUS_OK))) {
        media_decoder_free(d);
        return NULL;
    }
    return d;
}

void media_decoder_free(struct media_decoder *d)
{
    if (!d)
        return;
    if (d->g722)
        g722_decode_free(d->g722);
    if (d->opus)
        opus_decoder_destroy(d->opus);
    free(d);
}

int media_decode(struct media_decoder *d, const uint8_t *in, size_t len, int16_t *pcm, size_t max)
{
    if (!d || !in || len == 0)
        return -1;
    switch (d->codec) {
    case MEDIA_CODEC_PCMU:
    case MEDIA_CODEC_PCMA:
        if (len > max)
            return -1;
        for (size_t i = 0; i < len; i++)
            pcm[i] = d->codec == MEDIA_CODEC_PCMU ? ulaw_to_linear(in[i]) : alaw_to_linear(in[i]);
        return (int)len;
    case MEDIA_CODEC_G722:
        /* Two samples per byte at 16 kHz, one in the 8 kHz mode. */
        if (len * (size_t)(d->rate / 8000) > max || len > 0x7fffffff)
            return -1;
        return g722_decode(d->g722, pcm, in, (int)len);
    case MEDIA_CODEC_OPUS: {
        if (len > 0x7fffffff || max > 0x7fffffff)
            return -1;
        int n = opus_decode(d->opus, in, (opus_int32)len, pcm, (int)max, 0);
        return n < 0 ? -1 : n;
    }
    default:
        return -1;
    }
}

struct media_encoder *media_encoder_create(int codec, int pcm_rate)
{
    if (!rate_ok(codec, pcm_rate))
        return NULL;
    struct media_encoder *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->codec = codec;
    e->rate = pcm_rate;
    int err = OPUS_OK;
    if (codec == MEDIA_CODEC_G722) {
        e->g722 = g722_encode_init(NULL, 64000, pcm_rate == 8000 ? G722_SAMPLE_RATE_8000 : 0);
    } else if (codec == MEDIA_CODEC_OPUS) {
        e->opus = opus_encoder_create(pcm_rate, 1, OPUS_APPLICATION_VOIP, &err);
        if (e->opus && err == OPUS_OK)
            opus_encoder_ctl(e->opus, OPUS_SET_COMPLEXITY(MEDIA_OPUS_COMPLEXITY));
    }
    if ((codec == MEDIA_CODEC_G722 && !e->g722) ||
        (codec == MEDIA_CODEC_OPUS && (!e->opus || err != OPUS_OK))) {
        media_encoder_free(e);
        return NULL;
    }
    return e;
}

void media_encoder_free(struct media_encoder *e)
{
    if (!e)
        return;
    if (e->g722)
        g722_encode_free(e->g722);
    if (e->opus)
        opus_encoder_destroy(e->opus);
    free(e);
}

int media_encode(struct media_encoder *e, const int16_t *pcm, size_t samples, uint8_t *out,
                 size_t max)
{
    int frame = media_codec_frame(e ? e->rate : 8000);
    if (!e || !pcm || samples == 0 || samples % (size_t)frame != 0 || samples > (size_t)frame * 6)
        return -1;
    switch (e->codec) {
    case MEDIA_CODEC_PCMU:
    case MEDIA_CODEC_PCMA:
        if (samples > max)
            return -1;
        for (size_t i = 0; i < samples; i++)
            out[i] = e->codec == MEDIA_CODEC_PCMU ? linear_to_ulaw(pcm[i]) : linear_to_alaw(pcm[i]);
        return (int)samples;
    case MEDIA_CODEC_G722:
        if (samples / (size_t)(e->rate / 8000) > max)
            return -1;
        return g722_encode(e->g722, out, pcm, (int)samples);
    case MEDIA_CODEC_OPUS: {
        int n = opus_encode(e->opus, pcm, (int)samples, out, max > 1275 ? 1275 : (opus_int32)max);
        return n < 0 ? -1 : n;
    }
    default:
        return -1;
    }
}
