/* RFC 3550 receive statistics (appendix A.1, A.3, A.8), the E-model-lite MOS and payload type
 * names. Pure arithmetic on the values passed in; O(1) per packet, nothing allocated. */
#include "media/media_quality.h"

#include "media/media.h"

#include <stdio.h>

#define SEQ_MOD 65536u

/* A.1 init_seq, keeping what earlier sources of the leg expected and received. */
static void start_source(struct media_rtp_source *s, uint16_t seq, uint32_t ssrc)
{
    if (s->started) {
        s->expected_before += s->cycles + s->max_seq - s->base_seq + 1;
        s->received_before += s->received;
    }
    s->started = 1;
    s->ssrc = ssrc;
    s->base_seq = seq;
    s->max_seq = seq;
    s->bad_seq = SEQ_MOD + 1; /* so seq == bad_seq is false */
    s->cycles = 0;
    s->received = 0;
    s->have_transit = 0;
}

/* A.1 update_seq without the probation step: the relay has already latched the source, and
 * the first packet of a stream counts like any other. 1 when the packet is counted. */
static int update_seq(struct media_rtp_source *s, uint16_t seq)
{
    uint16_t udelta = (uint16_t)(seq - s->max_seq);
    if (udelta < MEDIA_Q_MAX_DROPOUT) {
        if (seq < s->max_seq)
            s->cycles += SEQ_MOD; /* in order, with permissible gap, wrapped */
        s->max_seq = seq;
    } else if (udelta <= SEQ_MOD - MEDIA_Q_MAX_MISORDER) {
        /* A very large jump: the sender restarted (or is broken). Believe it only when the
         * next packet follows on. */
        if (seq != s->bad_seq) {
            s->bad_seq = (seq + 1u) & (SEQ_MOD - 1);
            return 0;
        }
        start_source(s, seq, s->ssrc);
    }
    /* else: duplicate or reordered within MAX_MISORDER; counted, not a loss, no new max. */
    s->received++;
    return 1;
}

/* A.8: J += (|D| - J) / 16, with D the change in relative transit between two packets. */
static void update_jitter(struct media_rtp_source *s, uint32_t ts, int pt, uint32_t clock_hz,
                          double arrival)
{
    if (clock_hz == 0 || arrival < 0)
        return;
    /* Arrival in the payload's clock units, modulo 2^32 like the RTP timestamp itself. */
    uint32_t now_ts = (uint32_t)(uint64_t)(arrival * clock_hz);
    int32_t transit = (int32_t)(now_ts - ts);
    /* A different payload type may run another clock: its transit is not comparable. */
    if (s->have_transit && s->transit_pt == pt) {
        int64_t d = (int64_t)transit - s->transit;
        if (d < 0)
            d = -d;
        s->jitter += ((double)d / clock_hz - s->jitter) / 16.0;
    }
    s->transit = transit;
    s->transit_pt = pt;
    s->have_transit = 1;
}

void media_q_rtp(struct media_rtp_source *s, uint16_t seq, uint32_t ts, uint32_t ssrc, int pt,
                 uint32_t clock_hz, double arrival)
{
    if (!s->started || ssrc != s->ssrc) {
        start_source(s, seq, ssrc);
        s->received = 1;
    } else if (!update_seq(s, seq)) {
        return;
    }
    update_jitter(s, ts, pt, clock_hz, arrival);
}

int64_t media_q_expected(const struct media_rtp_source *s)
{
    if (!s->started)
        return (int64_t)s->expected_before;
    return (int64_t)(s->expected_before + s->cycles + s->max_seq - s->base_seq + 1);
}

int64_t media_q_lost(const struct media_rtp_source *s)
{
    return media_q_expected(s) - (int64_t)(s->received_before + s->received);
}

double media_q_loss_pct(const struct media_rtp_source *s)
{
    int64_t expected = media_q_expected(s), lost = media_q_lost(s);
    if (expected <= 0 || lost <= 0)
        return 0.0;
    return 100.0 * (double)lost / (double)expected;
}

double media_q_jitter_ms(const struct media_rtp_source *s)
{
    return s->jitter * 1000.0;
}

uint8_t media_q_interval_fraction(struct media_rtp_source *s)
{
    uint64_t expected = (uint64_t)media_q_expected(s);
    uint64_t received = s->received_before + s->received;
    /* A source restart can shrink "expected" below the prior: that interval reports 0. */
    int64_t exp_int = (int64_t)(expected - s->expected_prior);
    int64_t lost_int = exp_int - (int64_t)(received - s->received_prior);
    s->expected_prior = expected;
    s->received_prior = received;
    if (exp_int <= 0 || lost_int <= 0)
        return 0;
    return (uint8_t)((lost_int << 8) / exp_int > 255 ? 255 : (lost_int << 8) / exp_int);
}

uint32_t media_q_ext_max_seq(const struct media_rtp_source *s)
{
    return (uint32_t)(s->cycles + s->max_seq);
}

double media_q_r_factor(double loss_pct, double jitter_ms, double rtt_ms, int pt)
{
    double ie = 0.0, bpl = 25.1; /* G.711 with PLC (G.113 Appendix I) */
    if (pt == 18) {
        ie = 11.0, bpl = 19.0; /* G.729A */
    }
    if (loss_pct < 0)
        loss_pct = 0;
    if (jitter_ms < 0)
        jitter_ms = 0;
    double d = (rtt_ms > 0 ? rtt_ms / 2.0 : 0.0) + 2.0 * jitter_ms + 10.0;
    double id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0.0);
    double ie_eff = ie + (95.0 - ie) * loss_pct / (loss_pct + bpl);
    return 93.2 - id - ie_eff;
}

double media_q_mos(double loss_pct, double jitter_ms, double rtt_ms, int pt)
{
    double r = media_q_r_factor(loss_pct, jitter_ms, rtt_ms, pt);
    if (r <= 0)
        return 1.0;
    if (r >= 100)
        return 4.5;
    double mos = 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6;
    return mos < 1.0 ? 1.0 : mos;
}

/* Declared in media.h: the SIP side names codecs in CDRs from what the relay saw. */
const char *media_payload_name(int pt, char *buf, size_t len)
{
    switch (pt) {
    case 0:
        return "PCMU";
    case 8:
        return "PCMA";
    case 9:
        return "G722";
    case 18:
        return "G729";
    case 101:
        return "telephone-event";
    }
    if (pt < 0 || pt > 127)
        return "";
    snprintf(buf, len, "pt%d", pt);
    return buf;
}
