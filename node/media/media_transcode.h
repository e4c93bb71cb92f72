/* Transcoding of one direction of a call (RTP toward one leg) and the numbering of the stream a
 * phone receives, kept continuous across codec changes. Internal to node/media; pure functions
 * over packets in memory, so the unit tests drive them without sockets. */
#ifndef TANDEM_MEDIA_TRANSCODE_H
#define TANDEM_MEDIA_TRANSCODE_H

#include "media/media.h"
#include "media/media_codec.h"

#include <stddef.h>
#include <stdint.h>

/* What was last sent toward a leg. Until the first transcoded packet the relay forwards the
 * sender's numbering untouched and only watches it; from then on ("renumber") every packet
 * toward the leg carries this SSRC, and a pass-through run gets sequence and timestamp offsets
 * that continue where the last packet left off, so the phone sees one stream whatever codec
 * or source is behind it. */
struct media_ostream {
    int have, renumber;
    uint32_t ssrc, ts;
    uint32_t dur; /* timestamp span of the last audio frame sent, in its clock */
    uint16_t seq;
    int run; /* the offsets below are valid for a pass-through run from run_ssrc */
    uint32_t run_ssrc, ts_off;
    uint16_t seq_off;
};

/* A plain RTP packet (already payload-mapped) going toward the leg: recorded, and renumbered
 * when o->renumber is on. */
void media_ostream_pass(struct media_ostream *o, uint8_t *pkt, size_t len);

/* PCM a transcoder may hold: a leftover under 20 ms plus one packet of up to 120 ms. */
#define MEDIA_XC_FIFO (2 * MEDIA_CODEC_MAX_SAMPLES)

struct media_xcode {
    struct media_transcode spec;
    int rate; /* pivot PCM rate (media_codec_pivot_rate) */
    struct media_decoder *dec;
    struct media_encoder *enc;
    int16_t fifo[MEDIA_XC_FIFO]; /* decoded, not yet encoded */
    int fifo_n;
    uint32_t fifo_in_ts; /* input timestamp of fifo[0] */
    int have_in;
    uint32_t in_ssrc;
    uint16_t in_seq;
    int lost;   /* input packets missing since the last output: shown as a sequence gap */
    int marker; /* the next output packet starts a talkspurt (or a new codec) */
    int anchored;
    uint32_t anc_in, anc_out; /* input timestamp of the last output packet, and its output */
    int have_ev;
    uint32_t ev_in_ts, ev_out_ts; /* the RFC 4733 event in progress keeps one timestamp */
};

enum {
    MEDIA_XC_DROP = 0,   /* not sent: refused, late, or of a kind the leg cannot take */
    MEDIA_XC_SEND = 1,   /* pkt now holds the packet to send, *len its length */
    MEDIA_XC_ABSORB = 2, /* kept (under 20 ms of audio so far); nothing to send yet */
    MEDIA_XC_PASS = 3    /* not a payload type this transcoder handles: forward it as it is */
};

/* A transcoder for spec (checked as media_leg_set_transcode does); NULL when refused or out of
 * memory. Owned by the caller. */
struct media_xcode *media_xcode_create(const struct media_transcode *spec);
void media_xcode_free(struct media_xcode *x);
int media_xcode_same(const struct media_xcode *x, const struct media_transcode *spec);

/* One valid RTP packet (media_rtp_check passed) of len bytes in pkt, which has room for cap;
 * returns MEDIA_XC_*. On SEND the packet is rewritten in place with o's numbering. */
int media_xcode_packet(struct media_xcode *x, struct media_ostream *o, uint8_t *pkt, size_t *len,
                       size_t cap);

#endif
