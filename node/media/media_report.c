/* Per-leg quality on the packet path: RTP receive statistics and the RTCP passing through
 * (media_quality.c, media_rtcp.c do the arithmetic and parsing), and the receiver reports the
 * node generates. Everything runs under the session lock the relay already holds: O(1) per
 * packet, no allocation, and at most one sendto per leg every MEDIA_RR_INTERVAL.
 *
 * Generated reports were put here, triggered by the leg's own RTP, rather than in a timer pass
 * over all sessions: a leg that receives RTP is exactly the leg that has something to report,
 * and no thread has to walk the session list or take the engine lock to find it. */
#include "media/media_internal.h"
#include "media/media_rtcp.h"
#include "media/media_rtp.h"

#include "common/log.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

/* The default clock table: RFC 3551's static audio types are all 8000 Hz RTP clocks (G.722's
 * included, by that RFC's historical error); 101 is the conventional telephone-event. */
static void default_clocks(uint32_t hz[128])
{
    for (int pt = 0; pt < 128; pt++)
        hz[pt] = MEDIA_Q_DEFAULT_CLOCK;
    hz[101] = 0;
}

void media_report_init(struct media_session *s)
{
    uint32_t seed[2];
    /* A report SSRC only has to differ from the phones' (checked when sending); when the
     * kernel has no randomness to give, the session's address will do. */
    if (getrandom(seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        seed[0] = (uint32_t)(uintptr_t)s ^ 0x7a4d3e21u;
        seed[1] = seed[0] ^ 0x00010001u;
    }
    for (int l = 0; l < 2; l++) {
        struct media_leg_quality *q = &s->leg[l].q;
        memset(q, 0, sizeof *q);
        default_clocks(q->clock_hz);
        q->audio_pt = q->event_pt = -1;
        q->rtt = -1;
        q->rr_ssrc = seed[l];
    }
}

static uint32_t leg_clock(const struct media_leg_quality *q)
{
    return q->audio_pt >= 0 && q->clock_hz[q->audio_pt] ? q->clock_hz[q->audio_pt]
                                                        : MEDIA_Q_DEFAULT_CLOCK;
}

/* The RR a silent peer would have sent: how the leg's RTP reached us, with the LSR/DLSR of
 * the leg phone's last SR so the phone can work out its round trip to us. */
static void send_rr(struct media_session *s, int leg, double now)
{
    struct media_leg *l = &s->leg[leg];
    struct media_leg_quality *q = &l->q;
    const struct media_peer *dest = media_leg_destination(l, MEDIA_RTCP);
    int fd = l->sock[MEDIA_RTCP].fd;
    if (!dest || fd < 0)
        return;
    while (q->rr_ssrc == q->rtp.ssrc || q->rr_ssrc == s->leg[!leg].q.rtp.ssrc)
        q->rr_ssrc = q->rr_ssrc * 2654435761u + 1u; /* any other value will do */
    int64_t lost = media_q_lost(&q->rtp);
    struct media_rtcp_block b = {
        .ssrc = q->rtp.ssrc,
        .fraction = media_q_interval_fraction(&q->rtp),
        .cum_lost = lost > INT32_MAX   ? INT32_MAX
                    : lost < INT32_MIN ? INT32_MIN
                                       : (int32_t)lost,
        .ext_seq = media_q_ext_max_seq(&q->rtp),
        .jitter = (uint32_t)(q->rtp.jitter * leg_clock(q)),
    };
    int last = (q->sr_next + MEDIA_SR_KEPT - 1) % MEDIA_SR_KEPT;
    if (q->sr[last].at > 0) {
        b.lsr = q->sr[last].ntp_mid;
        b.dlsr = (uint32_t)((now - q->sr[last].at) * 65536.0);
    }
    uint8_t buf[MEDIA_RTCP_RR_LEN + MEDIA_SRTP_ROOM];
    size_t n = media_rtcp_build_rr(buf, MEDIA_RTCP_RR_LEN, q->rr_ssrc, &b);
    if (media_srtp_protect(l, MEDIA_RTCP, buf, &n) != 0)
        return;
    ssize_t r = sendto(fd, buf, n, MSG_DONTWAIT, (const struct sockaddr *)&dest->addr, dest->len);
    if (r < 0) {
        /* A full buffer or an ICMP error: the next report comes in MEDIA_RR_INTERVAL. */
        log_debug(s->call_id, "media: RTCP report on port %d: %s", l->port + 1, strerror(errno));
        return;
    }
    l->stats.packets_out++;
    l->stats.bytes_out += (uint64_t)r;
    q->rr_sent++;
}

void media_report_rtp(struct media_session *s, int leg, const uint8_t *pkt, double now)
{
    struct media_leg_quality *q = &s->leg[leg].q;
    int pt = media_rtp_payload_type(pkt);
    uint32_t hz = q->clock_hz[pt];
    if (hz)
        q->audio_pt = pt;
    else
        q->event_pt = pt;
    media_q_rtp(&q->rtp, media_rtp_seq(pkt), media_rtp_timestamp(pkt), media_rtp_ssrc(pkt), pt, hz,
                now);

    /* Every MEDIA_RR_INTERVAL of this leg's RTP: report on it ourselves, unless the other
     * phone sent RTCP in that interval (then its reports, relayed, do the job). */
    if (q->rr_due == 0) {
        q->rr_due = now + MEDIA_RR_INTERVAL;
        return;
    }
    if (now < q->rr_due)
        return;
    q->rr_due = now + MEDIA_RR_INTERVAL;
    const struct media_leg_quality *peer = &s->leg[!leg].q;
    if (peer->last_rtcp > 0 && now - peer->last_rtcp < MEDIA_RR_INTERVAL)
        return;
    send_rr(s, leg, now);
}

void media_report_rtcp(struct media_session *s, int leg, const uint8_t *pkt, size_t len, double now)
{
    struct media_leg_quality *q = &s->leg[leg].q;
    const struct media_leg_quality *peer = &s->leg[!leg].q;
    q->rtcp_in++;
    q->last_rtcp = now;
    struct media_rtcp_info info;
    /* A compound broken halfway still gives what came before the break. */
    (void)media_rtcp_parse(pkt, len, &info);
    if (info.has_sr) {
        q->sr[q->sr_next].ntp_mid = info.sr_ntp_mid;
        q->sr[q->sr_next].at = now;
        q->sr_next = (q->sr_next + 1) % MEDIA_SR_KEPT;
    }
    for (int i = 0; i < info.nblocks; i++) {
        const struct media_rtcp_block *b = &info.block[i];
        if (peer->rtp.started && b->ssrc == peer->rtp.ssrc) {
            q->reported = 1;
            q->rep_fraction = b->fraction;
            q->rep_jitter = b->jitter;
        }
        /* The echo of an SR the other phone sent through us: the time since we relayed it,
         * less the phone's own delay, is the round trip between us and this phone. */
        for (int k = 0; b->lsr && k < MEDIA_SR_KEPT; k++) {
            if (peer->sr[k].at <= 0 || peer->sr[k].ntp_mid != b->lsr)
                continue;
            double rtt = now - peer->sr[k].at - b->dlsr / 65536.0;
            if (rtt > -0.001) /* a report cannot come back before its SR left: else garbage */
                q->rtt = rtt > 0 ? rtt : 0;
            break;
        }
    }
}

void media_report_stats(const struct media_session *s, int leg, struct media_leg_stats *out)
{
    const struct media_leg_quality *q = &s->leg[leg].q;
    const struct media_leg_quality *peer = &s->leg[!leg].q;
    out->lost = media_q_lost(&q->rtp);
    out->loss_pct = media_q_loss_pct(&q->rtp);
    out->jitter_ms = media_q_jitter_ms(&q->rtp);
    out->rtt_ms = q->rtt >= 0 ? q->rtt * 1000.0 : -1.0;
    out->payload_type = q->audio_pt >= 0 ? q->audio_pt : q->event_pt;
    out->mos = q->rtp.started
                   ? media_q_mos(out->loss_pct, out->jitter_ms, out->rtt_ms, out->payload_type)
                   : 0.0;
    out->rtcp_packets_in = q->rtcp_in;
    out->rtcp_generated = q->rr_sent;
    out->reported_loss_pct = q->reported ? q->rep_fraction * 100.0 / 256.0 : -1.0;
    out->reported_jitter_ms = q->reported ? q->rep_jitter * 1000.0 / leg_clock(peer) : -1.0;
}

int media_leg_set_clock(struct media_session *s, int leg, int pt, int hz)
{
    if ((leg != MEDIA_LEG_A && leg != MEDIA_LEG_B) || pt < 0 || pt > 127 || hz < 0 || hz > 1000000)
        return -1;
    pthread_mutex_lock(&s->lock);
    s->leg[leg].q.clock_hz[pt] = (uint32_t)hz;
    pthread_mutex_unlock(&s->lock);
    return 0;
}
