/* The forwarding path: one batch of datagrams from one socket, checked, latched, rewritten and
 * sent out of the other leg's socket of the same kind. Runs on the session's media thread with
 * the session lock held for the whole batch, so the socket cannot be closed under it. */
#include "media/media_internal.h"
#include "media/media_rtp.h"

#include "common/clock.h"
#include "common/log.h"

#include <errno.h>
#include <string.h>

/* Latching rule (see media.h): the first valid packet latches; packets from the latched source
 * are accepted and break any challenger's run; a different source must send
 * MEDIA_RELATCH_PACKETS in a row (the latched source silent meanwhile) to take over, and its
 * packets are dropped until it does. A third source restarts the count. */
int media_latch_accept(struct media_latch *l, const struct sockaddr_storage *from,
                       socklen_t fromlen)
{
    if (fromlen == 0 || fromlen > (socklen_t)sizeof l->cur.addr)
        return 0;
    if (!l->cur.len) {
        memcpy(&l->cur.addr, from, fromlen);
        l->cur.len = fromlen;
        l->cand_count = 0;
        return 1;
    }
    if (media_addr_equal(&l->cur, from, fromlen)) {
        l->cand_count = 0;
        return 1;
    }
    if (l->cand_count > 0 && media_addr_equal(&l->cand, from, fromlen)) {
        l->cand_count++;
    } else {
        memset(&l->cand, 0, sizeof l->cand);
        memcpy(&l->cand.addr, from, fromlen);
        l->cand.len = fromlen;
        l->cand_count = 1;
    }
    if (l->cand_count < MEDIA_RELATCH_PACKETS)
        return 0;
    l->cur = l->cand;
    l->cand_count = 0;
    return 1;
}

const struct media_peer *media_leg_destination(const struct media_leg *out, int kind)
{
    if (out->latch[kind].cur.len)
        return &out->latch[kind].cur;
    if (out->remote[kind].len)
        return &out->remote[kind];
    return NULL;
}

/* Validates and routes packet i; 1 when it was queued for sending as tx[*ntx], 2 when the
 * transcoder kept it to complete a frame, 0 when it was dropped. */
static int route_one(struct media_thread *t, struct media_sock *ms, int i, double now, int *ntx)
{
    struct media_session *s = ms->s;
    struct media_leg *in = &s->leg[ms->leg], *out = &s->leg[!ms->leg];
    struct mmsghdr *m = &t->rx[i];
    uint8_t *pkt = t->buf[i];
    size_t len = m->msg_len;

    in->stats.packets_in++;
    in->stats.bytes_in += len;
    if (m->msg_hdr.msg_flags & MSG_TRUNC)
        return 0;
    /* An SRTP leg's packets are authenticated and decrypted first: everything after sees
     * plain RTP/RTCP, and a forged packet can neither latch nor count as media. */
    if (media_srtp_unprotect(in, ms->kind, pkt, &len) != 0)
        return 0;
    int bad = ms->kind == MEDIA_RTP ? media_rtp_check(pkt, len) : media_rtcp_check(pkt, len);
    if (bad)
        return 0;
    if (!media_latch_accept(&in->latch[ms->kind], &t->rxaddr[i], m->msg_hdr.msg_namelen))
        return 0;
    in->stats.last_packet_mono = now;
    if (ms->kind == MEDIA_RTP) {
        in->stats.ssrc = media_rtp_ssrc(pkt);
        media_report_rtp(s, ms->leg, pkt, now); /* before the payload type is rewritten */
        if (media_events_take(s, ms->leg, pkt, len))
            return 0; /* a digit the other party gets as SIP INFO (media_events.c) */
    } else {
        media_report_rtcp(s, ms->leg, pkt, len, now);
    }
    if (ms->kind == MEDIA_RTP && out->hold)
        return 0;
    const struct media_peer *dest = media_leg_destination(out, ms->kind);
    if (!dest)
        return 0;
    if (ms->kind == MEDIA_RTP) {
        int xc = media_transcode_toward(out, pkt, &len);
        if (xc != MEDIA_XC_SEND)
            return xc == MEDIA_XC_ABSORB ? 2 : 0;
        media_events_sent(out, pkt, now); /* after transcoding: what the phone gets */
    }
    if (media_srtp_protect(out, ms->kind, pkt, &len) != 0)
        return 0;

    int j = (*ntx)++;
    memcpy(&t->txaddr[j], &dest->addr, dest->len);
    t->txiov[j].iov_base = pkt;
    t->txiov[j].iov_len = len;
    memset(&t->tx[j], 0, sizeof t->tx[j]);
    t->tx[j].msg_hdr.msg_name = &t->txaddr[j];
    t->tx[j].msg_hdr.msg_namelen = dest->len;
    t->tx[j].msg_hdr.msg_iov = &t->txiov[j];
    t->tx[j].msg_hdr.msg_iovlen = 1;
    return 1;
}

/* Sends tx[0..ntx) without ever blocking. A full socket buffer drops the rest of the batch
 * (media late is media lost); any other error drops that one packet and goes on. */
static void send_batch(struct media_thread *t, struct media_sock *ms, int ntx)
{
    struct media_session *s = ms->s;
    struct media_leg *in = &s->leg[ms->leg], *out = &s->leg[!ms->leg];
    int fd = out->sock[ms->kind].fd;
    int done = 0;
    while (done < ntx) {
        int r = sendmmsg(fd, t->tx + done, (unsigned)(ntx - done), MSG_DONTWAIT);
        if (r > 0) {
            for (int j = done; j < done + r; j++) {
                out->stats.packets_out++;
                out->stats.bytes_out += t->tx[j].msg_len;
            }
            done += r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
            in->stats.dropped += (uint64_t)(ntx - done);
            return;
        }
        log_debug(s->call_id, "media: send on port %d failed: %s", out->port, strerror(errno));
        in->stats.dropped++;
        done++;
    }
}

void media_relay_batch(struct media_thread *t, struct media_sock *ms)
{
    struct media_session *s = ms->s;
    pthread_mutex_lock(&s->lock);
    if (s->dead || ms->fd < 0) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    for (int i = 0; i < MEDIA_BATCH; i++) {
        t->rxiov[i].iov_base = t->buf[i];
        t->rxiov[i].iov_len = sizeof t->buf[i];
        memset(&t->rx[i], 0, sizeof t->rx[i]);
        t->rx[i].msg_hdr.msg_name = &t->rxaddr[i];
        t->rx[i].msg_hdr.msg_namelen = sizeof t->rxaddr[i];
        t->rx[i].msg_hdr.msg_iov = &t->rxiov[i];
        t->rx[i].msg_hdr.msg_iovlen = 1;
    }
    /* Level-triggered epoll: one batch per wakeup, what is left comes back on the next
     * epoll_wait, so one busy socket cannot starve the others on this thread. */
    int n = recvmmsg(ms->fd, t->rx, MEDIA_BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
        /* EAGAIN: another wakeup took it; anything else is a pending ICMP error, which recv
         * reports once and clears. Neither is worth more than a debug line. */
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            log_debug(s->call_id, "media: receive on port %d: %s", s->leg[ms->leg].port,
                      strerror(errno));
        pthread_mutex_unlock(&s->lock);
        return;
    }
    double now = clock_mono();
    int ntx = 0;
    for (int i = 0; i < n; i++) {
        if (route_one(t, ms, i, now, &ntx) == 0)
            s->leg[ms->leg].stats.dropped++;
    }
    if (ntx > 0)
        send_batch(t, ms, ntx);
    pthread_mutex_unlock(&s->lock);
}
