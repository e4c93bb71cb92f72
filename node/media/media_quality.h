/* Media quality arithmetic, pure: RFC 3550 receive statistics of one RTP stream (appendix A.1
 * sequence tracking, A.3 loss, A.8 interarrival jitter) and an E-model-lite MOS estimate.
 * No I/O, no allocation, no clock of its own: the relay passes arrival times in.
 *
 * MOS: a simplified ITU-T G.107 E-model, as rtpengine and most SBCs compute it:
 *   R = 93.2 - Id - Ie_eff
 *   Id = 0.024 d + 0.11 (d - 177.3) H(d - 177.3)      (Cole & Rosenbluth's fit of G.107's Idd)
 *   d  = RTT/2 + 2 * jitter + 10 ms                    (one-way delay: half the measured round
 *        trip, a jitter buffer sized at twice the jitter, 10 ms of packetisation/playout)
 *   Ie_eff = Ie + (95 - Ie) * Ppl / (Ppl + Bpl)        (random loss, BurstR = 1)
 *   MOS = 1 + 0.035 R + R (R - 60) (100 - R) 7e-6, clamped to 1.0..4.5
 * Simplifications, all deliberate: default values for every G.107 input we cannot measure
 * (noise, loudness, echo: the 93.2), loss taken as random (no burst ratio), delay from RTT/2
 * (an unknown RTT counts as 0), and codec impairment from the payload type alone: G.711 (PT 0,
 * 8) Ie = 0 with Bpl = 25.1, the G.113 value for G.711 *with* packet loss concealment, since
 * every phone we expect conceals loss (without PLC, Bpl = 4.3 would rate the same loss much
 * worse); G.729 (PT 18) Ie = 11, Bpl = 19; everything else, G.722 included, is rated as G.711
 * on the narrowband scale (G.107.1's wideband scale is not modelled). The estimate tells calls
 * apart; it is not a P.863 listening test. */
#ifndef TANDEM_MEDIA_QUALITY_H
#define TANDEM_MEDIA_QUALITY_H

#include <stddef.h>
#include <stdint.h>

/* RFC 3550 A.1: a jump of MAX_DROPOUT or more ahead, or MAX_MISORDER or more behind, is not
 * counted until the next packet confirms it as the stream's new numbering. */
#define MEDIA_Q_MAX_DROPOUT 3000
#define MEDIA_Q_MAX_MISORDER 100
/* Payload clock used when nothing better is known (every static audio type but a few). */
#define MEDIA_Q_DEFAULT_CLOCK 8000

/* Receive state of the RTP arriving on one leg. Zero it to start. A new SSRC starts a new
 * source (RFC 3550 A.1), but the totals below carry over, so a leg's loss covers the call. */
struct media_rtp_source {
    int started;
    uint32_t ssrc;
    uint16_t max_seq;  /* highest sequence number seen */
    uint64_t cycles;   /* wraps of the sequence number, times 65536 */
    uint32_t base_seq; /* first sequence number of this source */
    uint32_t bad_seq;  /* after a big jump: the number that would confirm it */
    uint64_t received; /* packets counted for this source, duplicates included */
    /* Earlier sources of the leg (after an SSRC change or a sequence restart). */
    uint64_t expected_before, received_before;
    /* A.3: at the last generated report, for the interval fraction lost. */
    uint64_t expected_prior, received_prior;
    /* A.8: relative transit of the previous packet, in its clock's units. */
    int have_transit;
    int32_t transit;
    int transit_pt;
    double jitter; /* seconds (RFC 3550 keeps timestamp units; seconds survive clock changes) */
};

/* Counts one RTP packet that passed media_rtp_check. clock_hz is the payload's RTP clock; 0
 * marks a payload that is not audio (RFC 4733 events, which hold one timestamp for a whole
 * event): it counts for loss but stays out of jitter. arrival is in seconds (monotonic). */
void media_q_rtp(struct media_rtp_source *s, uint16_t seq, uint32_t ts, uint32_t ssrc, int pt,
                 uint32_t clock_hz, double arrival);

/* Packets expected and lost on the leg so far (all its sources). lost is negative when
 * duplicates outnumber losses, as RFC 3550 allows. */
int64_t media_q_expected(const struct media_rtp_source *s);
int64_t media_q_lost(const struct media_rtp_source *s);
/* Cumulative loss in percent, 0..100 (0 before any packet, and when duplicates outnumber). */
double media_q_loss_pct(const struct media_rtp_source *s);
/* Interarrival jitter in milliseconds. */
double media_q_jitter_ms(const struct media_rtp_source *s);
/* RFC 3550 A.3 fraction lost since the previous call (8-bit fixed point, 0 when duplicates
 * outnumber losses); starts the next interval. For the reports this node generates. */
uint8_t media_q_interval_fraction(struct media_rtp_source *s);
/* Extended highest sequence number received, for a report block. */
uint32_t media_q_ext_max_seq(const struct media_rtp_source *s);

/* R-factor and MOS as documented above. rtt_ms < 0 means unknown (counted as 0). */
double media_q_r_factor(double loss_pct, double jitter_ms, double rtt_ms, int pt);
double media_q_mos(double loss_pct, double jitter_ms, double rtt_ms, int pt);

#endif
