/* Transcoding toward one leg: decode what the other phone sends, cut it into 20 ms frames,
 * encode it in the leg's codec and number it as one continuous stream. Runs on the session's
 * media thread under the session lock; nothing here allocates after media_xcode_create. */
#include "media/media_transcode.h"

#include "media/media_internal.h"
#include "media/media_rtp.h"

#include <stdlib.h>
#include <string.h>

/* A timestamp step beyond this many seconds is a restarted sender, not a pause. */
#define MEDIA_XC_MAX_GAP_S 10
/* Sequence gaps up to this are losses shown to the receiver; larger ones are a restart. */
#define MEDIA_XC_MAX_LOSS 100
/* A plausible frame span: up to 120 ms at 48 kHz. Longer steps are pauses, not frames. */
#define MEDIA_XC_MAX_DUR 5760

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Header length and payload length of a checked packet; -1 when no payload is left. */
static int rtp_payload(const uint8_t *pkt, size_t len, size_t *hdr, size_t *plen)
{
    size_t h = MEDIA_RTP_HEADER_MIN + 4u * (pkt[0] & 0x0f);
    if (pkt[0] & 0x10)
        h += 4 + 4u * (((size_t)pkt[h + 2] << 8) | pkt[h + 3]);
    size_t pad = (pkt[0] & 0x20) ? pkt[len - 1] : 0;
    if (h + pad >= len)
        return -1;
    *hdr = h;
    *plen = len - h - pad;
    return 0;
}

static void write_header(uint8_t *pkt, int marker, int pt, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
    pkt[0] = 0x80;
    pkt[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
    put16(pkt + 2, seq);
    put32(pkt + 4, ts);
    put32(pkt + 8, ssrc);
}

/* The timestamp after o's last audio frame: where a new stream behind the same SSRC goes on. */
static uint32_t ostream_next_ts(const struct media_ostream *o)
{
    return o->ts + (o->dur ? o->dur : 160);
}

static void ostream_track(struct media_ostream *o, uint32_t ts)
{
    int32_t d = (int32_t)(ts - o->ts);
    if (d > 0 && d <= MEDIA_XC_MAX_DUR)
        o->dur = (uint32_t)d;
    if (d > 0)
        o->ts = ts;
}

void media_ostream_pass(struct media_ostream *o, uint8_t *pkt, size_t len)
{
    if (len < MEDIA_RTP_HEADER_MIN)
        return;
    uint32_t ssrc = media_rtp_ssrc(pkt), ts = media_rtp_timestamp(pkt);
    uint16_t seq = media_rtp_seq(pkt);
    if (!o->renumber) {
        if (!o->have || ssrc != o->ssrc) {
            o->ts = ts;
            o->dur = 0;
        } else {
            ostream_track(o, ts);
        }
        o->ssrc = ssrc;
        o->seq = seq;
        o->have = 1;
        return;
    }
    if (!o->run || ssrc != o->run_ssrc) { /* a new run continues where the stream stopped */
        o->run = 1;
        o->run_ssrc = ssrc;
        o->seq_off = (uint16_t)(o->seq + 1 - seq);
        o->ts_off = ostream_next_ts(o) - ts;
    }
    seq = (uint16_t)(seq + o->seq_off);
    ts += o->ts_off;
    put16(pkt + 2, seq);
    put32(pkt + 4, ts);
    put32(pkt + 8, o->ssrc);
    o->seq = seq;
    ostream_track(o, ts);
}

static int spec_ok(const struct media_transcode *t)
{
    int pt_ok = t->from_pt >= 0 && t->from_pt < 128 && t->to_pt >= 0 && t->to_pt < 128 &&
                !(t->to_pt >= 64 && t->to_pt <= 95);
    int ev_in = t->from_event_pt >= 0, ev_out = t->to_event_pt >= 0;
    if (!pt_ok || !media_codec_info(t->from_codec) || !media_codec_info(t->to_codec) ||
        t->from_codec == t->to_codec)
        return 0;
    if (ev_in &&
        (t->from_event_pt >= 128 || t->from_event_hz <= 0 || t->from_event_pt == t->from_pt))
        return 0;
    if (ev_out && (t->to_event_pt >= 128 || t->to_event_hz <= 0 || t->to_event_pt == t->to_pt ||
                   (t->to_event_pt >= 64 && t->to_event_pt <= 95)))
        return 0;
    return 1;
}

struct media_xcode *media_xcode_create(const struct media_transcode *spec)
{
    if (!spec || !spec_ok(spec))
        return NULL;
    struct media_xcode *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->spec = *spec;
    x->rate = media_codec_pivot_rate(spec->from_codec, spec->to_codec);
    x->dec = media_decoder_create(spec->from_codec, x->rate);
    x->enc = media_encoder_create(spec->to_codec, x->rate);
    x->marker = 1;
    if (!x->dec || !x->enc) {
        media_xcode_free(x);
        return NULL;
    }
    return x;
}

void media_xcode_free(struct media_xcode *x)
{
    if (!x)
        return;
    media_decoder_free(x->dec);
    media_encoder_free(x->enc);
    free(x);
}

int media_xcode_same(const struct media_xcode *x, const struct media_transcode *spec)
{
    return x && spec && memcmp(&x->spec, spec, sizeof *spec) == 0;
}

/* PCM samples at the pivot rate as input timestamp units, and the reverse for output. */
static uint32_t in_units(const struct media_xcode *x, int samples)
{
    return (uint32_t)((uint64_t)samples *
                      (uint64_t)media_codec_info(x->spec.from_codec)->rtp_clock /
                      (uint64_t)x->rate);
}

static uint32_t out_units(const struct media_xcode *x, int samples)
{
    return (uint32_t)((uint64_t)samples * (uint64_t)media_codec_info(x->spec.to_codec)->rtp_clock /
                      (uint64_t)x->rate);
}

/* Output timestamp for input timestamp in_ts (input audio clock): the same distance from the
 * last output packet as in the input, so pauses and losses keep their length; a step back or
 * beyond MEDIA_XC_MAX_GAP_S continues right after the last frame sent instead. */
static uint32_t map_ts(const struct media_xcode *x, const struct media_ostream *o, uint32_t in_ts)
{
    uint32_t in_clock = (uint32_t)media_codec_info(x->spec.from_codec)->rtp_clock;
    uint32_t out_clock = (uint32_t)media_codec_info(x->spec.to_codec)->rtp_clock;
    /* A stream's first packet takes the sender's timestamp scaled to the output clock, so that
     * while nothing resets it out = in * out_clock / in_clock (mod 2^32): a transcoder built
     * afresh for the same call (a successor after a failover, call_recover.c) then continues
     * the timestamps the phone was receiving instead of jumping, just as the sequence numbers
     * (the sender's) and the SSRC (the sender's) continue. */
    uint32_t next =
        o->have ? ostream_next_ts(o) : (uint32_t)((uint64_t)in_ts * out_clock / in_clock);
    if (!x->anchored)
        return next;
    int32_t dt = (int32_t)(in_ts - x->anc_in);
    if (dt <= 0 || dt > (int32_t)(in_clock * MEDIA_XC_MAX_GAP_S))
        return next;
    uint32_t out = x->anc_out + (uint32_t)((uint64_t)dt * out_clock / in_clock);
    if (o->have && (int32_t)(out - o->ts) <= 0) /* pass-through meanwhile went further */
        return next;
    return out;
}

static void ostream_sent(struct media_ostream *o, uint32_t ssrc, uint16_t seq)
{
    o->have = 1;
    o->renumber = 1;
    o->run = 0; /* a later pass-through run gets fresh offsets */
    o->ssrc = ssrc;
    o->seq = seq;
}

static int xcode_audio(struct media_xcode *x, struct media_ostream *o, uint8_t *pkt, size_t *len,
                       size_t cap, size_t hdr, size_t plen)
{
    uint32_t ssrc = media_rtp_ssrc(pkt), ts = media_rtp_timestamp(pkt);
    uint16_t seq = media_rtp_seq(pkt);
    if (x->have_in && ssrc == x->in_ssrc) {
        uint16_t d = (uint16_t)(seq - x->in_seq);
        if (d == 0 || d >= 0x8000)
            return MEDIA_XC_DROP; /* a duplicate, or too late: its time has been sent */
        if (d > 1 && d <= MEDIA_XC_MAX_LOSS)
            x->lost += d - 1;
    } else if (x->have_in) {
        x->fifo_n = 0; /* a new source: nothing of the old one joins it */
    }
    x->have_in = 1;
    x->in_ssrc = ssrc;
    x->in_seq = seq;
    if (pkt[1] & 0x80)
        x->marker = 1;
    /* A partial frame joins only the audio right after it; after a gap it is let go. */
    if (x->fifo_n > 0 && ts != x->fifo_in_ts + in_units(x, x->fifo_n))
        x->fifo_n = 0;
    if (x->fifo_n == 0)
        x->fifo_in_ts = ts;
    int n = media_decode(x->dec, pkt + hdr, plen, x->fifo + x->fifo_n,
                         (size_t)(MEDIA_XC_FIFO - x->fifo_n));
    if (n < 0)
        return MEDIA_XC_DROP;
    x->fifo_n += n;
    int frame = media_codec_frame(x->rate);
    int frames = x->fifo_n / frame;
    if (frames > 6)
        frames = 6; /* 120 ms: the most one Opus packet holds */
    if (frames == 0)
        return MEDIA_XC_ABSORB;
    int samples = frames * frame;
    int out = media_encode(x->enc, x->fifo, (size_t)samples, pkt + MEDIA_RTP_HEADER_MIN,
                           cap - MEDIA_RTP_HEADER_MIN);
    if (out < 0)
        return MEDIA_XC_DROP;
    uint32_t out_ts = map_ts(x, o, x->fifo_in_ts);
    uint32_t out_ssrc = o->have ? o->ssrc : ssrc;
    uint16_t out_seq = o->have ? (uint16_t)(o->seq + 1 + x->lost) : seq;
    write_header(pkt, x->marker, x->spec.to_pt, out_seq, out_ts, out_ssrc);
    *len = MEDIA_RTP_HEADER_MIN + (size_t)out;
    x->anchored = 1;
    x->anc_in = x->fifo_in_ts;
    x->anc_out = out_ts;
    x->lost = 0;
    x->marker = 0;
    x->fifo_n -= samples;
    memmove(x->fifo, x->fifo + samples, (size_t)x->fifo_n * sizeof x->fifo[0]);
    x->fifo_in_ts += in_units(x, samples);
    ostream_sent(o, out_ssrc, out_seq);
    o->ts = out_ts;
    o->dur = out_units(x, samples);
    return MEDIA_XC_SEND;
}

/* RFC 4733: every packet of one event carries the event's start timestamp, and durations are
 * in timestamp units, so both move to the receiving side's clock. */
static int xcode_event(struct media_xcode *x, struct media_ostream *o, uint8_t *pkt, size_t *len,
                       size_t hdr, size_t plen)
{
    const struct media_transcode *t = &x->spec;
    if (t->to_event_pt < 0 || plen < 4)
        return MEDIA_XC_DROP;
    uint32_t ts = media_rtp_timestamp(pkt), ssrc = media_rtp_ssrc(pkt);
    uint32_t out_ts;
    if (x->have_ev && ts == x->ev_in_ts) {
        out_ts = x->ev_out_ts;
    } else {
        /* Event clock to audio clock first (they are normally the same). */
        uint32_t in_clock = (uint32_t)media_codec_info(t->from_codec)->rtp_clock;
        uint32_t as_audio = x->anc_in + (uint32_t)((int64_t)(int32_t)(ts - x->anc_in) * in_clock /
                                                   (uint32_t)t->from_event_hz);
        out_ts = map_ts(x, o, x->anchored ? as_audio : ts);
        x->have_ev = 1;
        x->ev_in_ts = ts;
        x->ev_out_ts = out_ts;
    }
    plen -= plen % 4;
    memmove(pkt + MEDIA_RTP_HEADER_MIN, pkt + hdr, plen);
    for (size_t i = 0; i < plen; i += 4) {
        uint8_t *ev = pkt + MEDIA_RTP_HEADER_MIN + i;
        uint64_t d =
            ((uint64_t)ev[2] << 8 | ev[3]) * (uint64_t)t->to_event_hz / (uint64_t)t->from_event_hz;
        put16(ev + 2, (uint16_t)(d > 0xffff ? 0xffff : d));
    }
    uint32_t out_ssrc = o->have ? o->ssrc : ssrc;
    uint16_t out_seq = o->have ? (uint16_t)(o->seq + 1) : media_rtp_seq(pkt);
    int first = !o->have;
    write_header(pkt, pkt[1] & 0x80, t->to_event_pt, out_seq, out_ts, out_ssrc);
    *len = MEDIA_RTP_HEADER_MIN + plen;
    ostream_sent(o, out_ssrc, out_seq);
    if (first)
        o->ts = out_ts;
    return MEDIA_XC_SEND;
}

int media_xcode_packet(struct media_xcode *x, struct media_ostream *o, uint8_t *pkt, size_t *len,
                       size_t cap)
{
    int pt = media_rtp_payload_type(pkt);
    int audio = pt == x->spec.from_pt;
    int event = x->spec.from_event_pt >= 0 && pt == x->spec.from_event_pt;
    if (!audio && !event)
        return MEDIA_XC_PASS;
    size_t hdr, plen;
    if (rtp_payload(pkt, *len, &hdr, &plen) != 0 || cap <= MEDIA_RTP_HEADER_MIN)
        return MEDIA_XC_DROP;
    return audio ? xcode_audio(x, o, pkt, len, cap, hdr, plen)
                 : xcode_event(x, o, pkt, len, hdr, plen);
}

int media_transcode_toward(struct media_leg *out, uint8_t *pkt, size_t *len)
{
    if (out->xc) {
        int r = media_xcode_packet(out->xc, &out->os, pkt, len, MEDIA_MAX_PACKET);
        if (r != MEDIA_XC_PASS)
            return r;
    }
    media_rtp_map_payload_type(pkt, out->pt_map);
    media_ostream_pass(&out->os, pkt, *len);
    return MEDIA_XC_SEND;
}

int media_leg_set_transcode(struct media_session *s, int leg, const struct media_transcode *t)
{
    if (!s || (leg != MEDIA_LEG_A && leg != MEDIA_LEG_B))
        return -1;
    struct media_xcode *x = NULL;
    if (t && !(x = media_xcode_create(t)))
        return -1;
    pthread_mutex_lock(&s->lock);
    struct media_leg *l = &s->leg[leg];
    struct media_xcode *old = l->xc;
    if (x && media_xcode_same(old, t)) {
        old = x; /* the running coders keep their state; the new ones were not needed */
    } else {
        l->xc = x;
    }
    pthread_mutex_unlock(&s->lock);
    media_xcode_free(old);
    return 0;
}
