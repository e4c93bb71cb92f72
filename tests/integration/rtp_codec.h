/* The test side's coders, shared by codec_peer.c and rtp_pcap.c: PCMU/PCMA/G.722 (spandsp) and
 * Opus (libopus) used directly, so a test never hears audio through the node's own coders. */
#ifndef TANDEM_TEST_RTP_CODEC_H
#define TANDEM_TEST_RTP_CODEC_H

#include <opus.h>
#include <spandsp/telephony.h>

#include <spandsp/bit_operations.h> /* g711.h uses top_bit without including it */
#include <spandsp/g711.h>
#include <spandsp/g722.h>

#include <stdint.h>
#include <string.h>

enum { PCMU, PCMA, G722, OPUS };

static inline int codec_of(const char *s)
{
    return !strcmp(s, "pcmu")   ? PCMU
           : !strcmp(s, "pcma") ? PCMA
           : !strcmp(s, "g722") ? G722
           : !strcmp(s, "opus") ? OPUS
                                : -1;
}

/* Rate of the PCM the test side uses with a codec, and its RTP clock. */
static inline int pcm_rate(int c)
{
    return c == G722 || c == OPUS ? 16000 : 8000;
}

static inline int rtp_clock(int c)
{
    return c == OPUS ? 48000 : 8000;
}

struct coder {
    int codec;
    g722_encode_state_t *g722e;
    g722_decode_state_t *g722d;
    OpusEncoder *opuse;
    OpusDecoder *opusd;
};

static inline int coder_init(struct coder *k, int codec)
{
    int err = 0;
    memset(k, 0, sizeof *k);
    k->codec = codec;
    if (codec == G722) {
        k->g722e = g722_encode_init(NULL, 64000, 0);
        k->g722d = g722_decode_init(NULL, 64000, 0);
        return k->g722e && k->g722d ? 0 : -1;
    }
    if (codec == OPUS) {
        k->opuse = opus_encoder_create(16000, 1, OPUS_APPLICATION_VOIP, &err);
        k->opusd = opus_decoder_create(16000, 1, &err);
        return k->opuse && k->opusd ? 0 : -1;
    }
    return 0;
}

static inline void coder_free(struct coder *k)
{
    if (k->g722e)
        g722_encode_free(k->g722e);
    if (k->g722d)
        g722_decode_free(k->g722d);
    if (k->opuse)
        opus_encoder_destroy(k->opuse);
    if (k->opusd)
        opus_decoder_destroy(k->opusd);
}

/* n samples of PCM at pcm_rate into out (room for 1200 bytes); the payload's length, or < 0. */
static inline int encode(struct coder *k, const int16_t *pcm, int n, uint8_t *out)
{
    switch (k->codec) {
    case PCMU:
    case PCMA:
        for (int i = 0; i < n; i++)
            out[i] = k->codec == PCMU ? linear_to_ulaw(pcm[i]) : linear_to_alaw(pcm[i]);
        return n;
    case G722:
        return g722_encode(k->g722e, out, pcm, n);
    default:
        return opus_encode(k->opuse, pcm, n, out, 1200);
    }
}

/* One payload into at most max samples of PCM; the number of samples, or < 0. */
static inline int decode(struct coder *k, const uint8_t *in, int len, int16_t *pcm, int max)
{
    switch (k->codec) {
    case PCMU:
    case PCMA:
        if (len > max)
            return -1;
        for (int i = 0; i < len; i++)
            pcm[i] = k->codec == PCMU ? ulaw_to_linear(in[i]) : alaw_to_linear(in[i]);
        return len;
    case G722:
        return len * 2 > max ? -1 : g722_decode(k->g722d, pcm, in, len);
    default:
        return opus_decode(k->opusd, in, len, pcm, max, 0);
    }
}

/* The 12-byte RTP header (version 2, no CSRC or extension). */
static inline void put_header(uint8_t *p, int marker, int pt, uint16_t seq, uint32_t ts,
                              uint32_t ssrc)
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

#endif
