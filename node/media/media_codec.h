/* The codecs the node can transcode (G.711 u-law and A-law, G.722, Opus): their RTP facts and
 * one encoder/decoder interface over spandsp and libopus. node/sip uses the table to name codecs
 * in SDP; the relay's transcoder (media_transcode.c) uses the coders on the media threads. */
#ifndef TANDEM_MEDIA_CODEC_H
#define TANDEM_MEDIA_CODEC_H

#include <stddef.h>
#include <stdint.h>

enum media_codec {
    MEDIA_CODEC_NONE = 0,
    MEDIA_CODEC_PCMU,
    MEDIA_CODEC_PCMA,
    MEDIA_CODEC_G722,
    MEDIA_CODEC_OPUS,
    MEDIA_CODEC_COUNT
};

struct media_codec_info {
    const char *name; /* SDP encoding name (rtpmap), compared case-insensitively */
    int rtp_clock;    /* RTP timestamp rate: 8000 for G.722 too (RFC 3551), 48000 for Opus */
    int channels;     /* what rtpmap says: Opus is always "opus/48000/2" (RFC 7587) */
    int static_pt;    /* RFC 3551 static payload type, -1 for a dynamic one */
    int audio_rate;   /* samples per second the codec really carries */
};

/* NULL for MEDIA_CODEC_NONE or anything out of range. */
const struct media_codec_info *media_codec_info(int codec);
/* The codec an rtpmap names (name/clock), MEDIA_CODEC_NONE when it is none of ours. */
int media_codec_find(const char *name, int rtp_clock);

/* Rate of the PCM between a decoder of `from` and an encoder of `to`: 8000 when either side is
 * G.711 (nothing above 4 kHz survives anyway), else 16000. Every coder here works natively at
 * 8000 and 16000 (spandsp's G.722 has an 8 kHz mode, libopus resamples internally), so no call
 * ever needs a separate resampler. */
int media_codec_pivot_rate(int from, int to);

/* Samples per 20 ms at a PCM rate. */
static inline int media_codec_frame(int pcm_rate)
{
    return pcm_rate / 50;
}

/* The largest frame either side handles: 120 ms (Opus's maximum) at 16 kHz. */
#define MEDIA_CODEC_MAX_SAMPLES 1920

struct media_decoder;
struct media_encoder;

/* A decoder of codec producing PCM at pcm_rate (8000 or 16000; G.711 only 8000). NULL for an
 * unsupported pair or when out of memory. Owned by the caller; free with media_decoder_free. */
struct media_decoder *media_decoder_create(int codec, int pcm_rate);
void media_decoder_free(struct media_decoder *d);
/* One RTP payload into pcm (at most max samples); returns the samples written, or -1 for a
 * payload the codec refuses. */
int media_decode(struct media_decoder *d, const uint8_t *in, size_t len, int16_t *pcm, size_t max);

struct media_encoder *media_encoder_create(int codec, int pcm_rate);
void media_encoder_free(struct media_encoder *e);
/* samples (a multiple of 20 ms, at most 120 ms) into one RTP payload of at most max bytes;
 * returns its length, or -1. */
int media_encode(struct media_encoder *e, const int16_t *pcm, size_t samples, uint8_t *out,
                 size_t max);

#endif
