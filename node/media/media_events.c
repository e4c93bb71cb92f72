/* RFC 4733 events where the two legs disagree on telephone-event: taken out of the relay on the
 * leg that sends them (reported once, at the event's end) and generated toward the leg that
 * wants them. Generated packets continue the stream the relay sends that way, so the phone sees
 * one RTP stream: same SSRC, consecutive sequence numbers (relayed packets are renumbered after
 * each injection), a timestamp advanced by the time since the last relayed packet. */
#include "media/media_internal.h"
#include "media/media_rtp.h"

#include "common/clock.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#define EVENT_HZ 8000 /* telephone-event/8000, the rate every phone offers */

void media_engine_set_event_sink(struct media_engine *eng, media_event_f *cb, void *arg)
{
    atomic_store(&eng->event_arg, arg);
    atomic_store(&eng->event_cb, cb);
}

int media_leg_set_events(struct media_session *s, int leg, int event_pt, int translate)
{
    if ((leg != MEDIA_LEG_A && leg != MEDIA_LEG_B) || event_pt < -1 || event_pt > 127)
        return -1;
    pthread_mutex_lock(&s->lock);
    s->leg[leg].dtmf.event_pt = event_pt;
    s->leg[leg].dtmf.translate = translate && event_pt >= 0;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* Offset of the payload of a packet that passed media_rtp_check. */
static size_t payload_offset(const uint8_t *pkt, size_t len)
{
    size_t off = MEDIA_RTP_HEADER_MIN + 4 * (size_t)(pkt[0] & 0x0F);
    if ((pkt[0] & 0x10) && off + 4 <= len)
        off += 4 + 4 * (size_t)((pkt[off + 2] << 8) | pkt[off + 3]);
    return off;
}

int media_events_take(struct media_session *s, int leg, const uint8_t *pkt, size_t len)
{
    struct media_leg_dtmf *d = &s->leg[leg].dtmf;
    if (!d->translate || (pkt[1] & 0x7F) != d->event_pt)
        return 0;
    size_t off = payload_offset(pkt, len);
    struct media_dtmf_event ev;
    if (off > len || media_dtmf_decode(pkt + off, len - off, &ev) != 0 || !ev.end ||
        !media_dtmf_first_end(&d->dedupe, media_rtp_ssrc(pkt), media_rtp_timestamp(pkt)))
        return 1;
    media_event_f *cb = atomic_load(&s->eng->event_cb);
    if (cb)
        cb(atomic_load(&s->eng->event_arg), s->call_id, leg, ev.event,
           (int)(ev.duration * 1000 / EVENT_HZ));
    return 1;
}

void media_events_sent(struct media_leg *out, uint8_t *pkt, double now)
{
    struct media_leg_dtmf *d = &out->dtmf;
    uint32_t ssrc = media_rtp_ssrc(pkt);
    uint16_t seq = media_rtp_seq(pkt);
    if (d->seq_offset && ssrc == d->offset_ssrc) {
        seq = (uint16_t)(seq + d->seq_offset);
        pkt[2] = (uint8_t)(seq >> 8);
        pkt[3] = (uint8_t)seq;
    }
    d->have_out = 1;
    d->seq_out = seq;
    d->ts_out = media_rtp_timestamp(pkt);
    d->ssrc_out = ssrc;
    d->out_mono = now;
}

int media_leg_send_event(struct media_session *s, int leg, int event, uint32_t duration, int end,
                         int first)
{
    if (leg != MEDIA_LEG_A && leg != MEDIA_LEG_B)
        return -1;
    double now = clock_mono();
    int rc = -1;
    pthread_mutex_lock(&s->lock);
    struct media_leg *l = &s->leg[leg];
    struct media_leg_dtmf *d = &l->dtmf;
    const struct media_peer *dest = media_leg_destination(l, MEDIA_RTP);
    if (s->dead || d->event_pt < 0 || !dest || l->sock[MEDIA_RTP].fd < 0)
        goto out;
    if (!d->have_out) { /* nothing relayed that way yet: a stream of our own (RFC 3550 5.1) */
        uint32_t r[3] = {0};
        if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
            r[0] = (uint32_t)(uintptr_t)s, r[1] = (uint32_t)now, r[2] = r[0] ^ r[1];
        d->ssrc_out = r[0];
        d->seq_out = (uint16_t)r[1];
        d->ts_out = r[2];
        d->out_mono = now;
        d->have_out = 1;
    }
    if (first) /* the event starts now on the stream's clock */
        d->event_ts = d->ts_out + (uint32_t)((now - d->out_mono) * EVENT_HZ);
    uint16_t seq = (uint16_t)(d->seq_out + 1);
    struct media_dtmf_event ev = {.event = event, .end = end, .volume = 10, .duration = duration};
    uint8_t pkt[16 + MEDIA_SRTP_ROOM];
    size_t len = media_dtmf_packet(pkt, d->event_pt, first, seq, d->event_ts, d->ssrc_out, &ev);
    if (media_srtp_protect(l, MEDIA_RTP, pkt, &len) != 0)
        goto out;
    ssize_t n = sendto(l->sock[MEDIA_RTP].fd, pkt, len, MSG_DONTWAIT,
                       (const struct sockaddr *)&dest->addr, dest->len);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        goto out;
    /* Counted as sent even when the socket buffer was full: the number is used either way. */
    d->seq_out = seq;
    if (d->offset_ssrc != d->ssrc_out) /* a new stream toward the leg: nothing to shift yet */
        d->seq_offset = 0;
    d->offset_ssrc = d->ssrc_out;
    d->seq_offset++;
    l->stats.packets_out++;
    l->stats.bytes_out += len;
    rc = 0;
out:
    pthread_mutex_unlock(&s->lock);
    return rc;
}
