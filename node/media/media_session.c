/* Media sessions: creation (ports, thread assignment, epoll registration), teardown, and the
 * setters the signalling thread calls (remote address, payload map, hold) plus stats. Each
 * setter takes the session lock, which a media thread holds for at most one batch. */
#include "media/media_internal.h"

#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static int valid_leg(int leg)
{
    return leg == MEDIA_LEG_A || leg == MEDIA_LEG_B;
}

/* The session's fds leave epoll before they close, so no later epoll_wait can name them. */
static void close_sockets(struct media_session *s)
{
    for (int l = 0; l < 2; l++) {
        for (int k = 0; k < 2; k++) {
            struct media_sock *ms = &s->leg[l].sock[k];
            if (ms->fd < 0)
                continue;
            /* DEL fails only for an fd that never got added (a failed create): harmless. */
            if (s->thr)
                epoll_ctl(s->thr->epfd, EPOLL_CTL_DEL, ms->fd, NULL);
            close(ms->fd);
            ms->fd = -1;
        }
    }
}

void media_session_free(struct media_session *s)
{
    if (!s)
        return;
    close_sockets(s);
    for (int l = 0; l < 2; l++) {
        media_srtp_free_leg(&s->leg[l]);
        media_xcode_free(s->leg[l].xc);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Under eng->lock: gives back the ports and the session's places in the counts. */
static void unaccount(struct media_engine *eng, struct media_session *s)
{
    for (int l = 0; l < 2; l++) {
        if (s->leg[l].port > 0 && !s->foreign)
            media_ports_release(&eng->ports, s->leg[l].port);
    }
    if (s->prev)
        s->prev->next = s->next;
    else if (eng->sessions == s)
        eng->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    eng->nsessions--;
    if (s->thr)
        s->thr->nsessions--;
}

/* Under eng->lock: checks the limit, binds both legs' pairs, links the session and picks its
 * thread. On failure nothing is held and err says why. */
static int account(struct media_engine *eng, struct media_session *s, char *err, size_t errlen)
{
    if (eng->nsessions >= eng->cfg.max_sessions) {
        snprintf(err, errlen, "media: max_sessions (%d) reached", eng->cfg.max_sessions);
        return -1;
    }
    for (int l = 0; l < 2; l++) {
        int fds[2];
        int port = media_ports_alloc(&eng->ports, fds, err, errlen);
        if (port < 0) {
            if (l == 1) {
                media_ports_release(&eng->ports, s->leg[0].port);
                close_sockets(s);
                s->leg[0].port = 0;
            }
            return -1;
        }
        s->leg[l].port = port;
        for (int k = 0; k < 2; k++)
            s->leg[l].sock[k].fd = fds[k];
    }
    s->next = eng->sessions;
    if (eng->sessions)
        eng->sessions->prev = s;
    eng->sessions = s;
    eng->nsessions++;
    s->thr = media_engine_pick_thread(eng);
    s->thr->nsessions++;
    return 0;
}

static struct media_session *session_alloc(struct media_engine *eng, const char *call_id, char *err,
                                           size_t errlen)
{
    struct media_session *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "media: out of memory");
        return NULL;
    }
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        snprintf(err, errlen, "media: cannot create a session lock");
        return NULL;
    }
    s->eng = eng;
    media_report_init(s);
    snprintf(s->call_id, sizeof s->call_id, "%s", call_id ? call_id : "-");
    for (int l = 0; l < 2; l++) {
        for (int k = 0; k < 2; k++)
            s->leg[l].sock[k] = (struct media_sock){.s = s, .fd = -1, .leg = l, .kind = k};
        for (int pt = 0; pt < 128; pt++)
            s->leg[l].pt_map[pt] = (uint8_t)pt;
        s->leg[l].dtmf.event_pt = -1;
    }
    return s;
}

/* The session is complete before its first fd enters epoll: from then on its thread may relay
 * packets for it. */
struct media_session *media_session_start(struct media_session *s, char *err, size_t errlen)
{
    for (int l = 0; l < 2; l++) {
        for (int k = 0; k < 2; k++) {
            struct media_sock *ms = &s->leg[l].sock[k];
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ms};
            if (epoll_ctl(s->thr->epfd, EPOLL_CTL_ADD, ms->fd, &ev) != 0) {
                snprintf(err, errlen, "media: epoll_ctl: %s", strerror(errno));
                log_error(s->call_id, "%s", err);
                media_session_destroy(s);
                return NULL;
            }
        }
    }
    log_debug(s->call_id, "media: session on ports %d and %d, thread %d", s->leg[0].port,
              s->leg[1].port, s->thr->index);
    return s;
}

struct media_session *media_session_create(struct media_engine *eng, const char *call_id, char *err,
                                           size_t errlen)
{
    struct media_session *s = session_alloc(eng, call_id, err, errlen);
    if (!s)
        return NULL;
    pthread_mutex_lock(&eng->lock);
    int rc = account(eng, s, err, errlen);
    pthread_mutex_unlock(&eng->lock);
    if (rc != 0) {
        log_warn(s->call_id, "%s", err);
        media_session_free(s);
        return NULL;
    }
    return media_session_start(s, err, errlen);
}

struct media_session *media_session_adopt(struct media_engine *eng, const char *call_id,
                                          const char *address, int port_a, int port_b, char *err,
                                          size_t errlen)
{
    struct media_peer local;
    if (media_addr_parse(address, 0, &local) != 0 ||
        local.addr.ss_family != eng->ports.local.addr.ss_family) {
        snprintf(err, errlen, "media: cannot adopt a session on address %s", address);
        return NULL;
    }
    struct media_session *s = session_alloc(eng, call_id, err, errlen);
    if (!s)
        return NULL;
    s->foreign = 1;
    int ports[2] = {port_a, port_b};
    for (int l = 0; l < 2; l++) {
        int fds[2];
        if (media_ports_bind_pair(&local, ports[l], fds) != 0) {
            snprintf(err, errlen, "media: cannot bind %s:%d: %s", address, ports[l],
                     strerror(errno));
            log_warn(s->call_id, "%s", err);
            media_session_free(s);
            return NULL;
        }
        s->leg[l].port = ports[l];
        for (int k = 0; k < 2; k++)
            s->leg[l].sock[k].fd = fds[k];
    }
    pthread_mutex_lock(&eng->lock);
    s->next = eng->sessions;
    if (eng->sessions)
        eng->sessions->prev = s;
    eng->sessions = s;
    eng->nsessions++;
    s->thr = media_engine_pick_thread(eng);
    s->thr->nsessions++;
    pthread_mutex_unlock(&eng->lock);
    return s;
}

void media_session_destroy(struct media_session *s)
{
    if (!s)
        return;
    struct media_engine *eng = s->eng;
    pthread_mutex_lock(&s->lock);
    s->dead = 1;
    close_sockets(s);
    pthread_mutex_unlock(&s->lock);

    pthread_mutex_lock(&eng->lock);
    unaccount(eng, s);
    pthread_mutex_unlock(&eng->lock);
    /* Its thread may still hold an event naming this session from its current epoll_wait, so
     * the memory is freed there, after that batch of events. */
    media_engine_bury(s);
}

int media_leg_local_port(const struct media_session *s, int leg)
{
    return valid_leg(leg) ? s->leg[leg].port : -1;
}

int media_leg_set_remote(struct media_session *s, int leg, const char *ip, int rtp_port,
                         int rtcp_port)
{
    if (!valid_leg(leg) || rtp_port < 1 || rtp_port > 65535 || rtcp_port < 0 || rtcp_port > 65535 ||
        (rtcp_port == 0 && rtp_port == 65535))
        return -1;
    struct media_peer peer[2];
    if (media_addr_parse(ip, rtp_port, &peer[MEDIA_RTP]) != 0 ||
        media_addr_parse(ip, rtcp_port ? rtcp_port : rtp_port + 1, &peer[MEDIA_RTCP]) != 0)
        return -1;
    /* Our sockets are of the configured family; an address of the other one is unreachable. */
    if (peer[MEDIA_RTP].addr.ss_family != s->eng->ports.local.addr.ss_family)
        return -1;

    pthread_mutex_lock(&s->lock);
    struct media_leg *l = &s->leg[leg];
    for (int k = 0; k < 2; k++) {
        /* Only a change forgets the latch: the first address (the SDP answer) may arrive after
         * early media already latched the real source, which must be kept. */
        if (l->remote[k].len && !media_addr_equal(&l->remote[k], &peer[k].addr, peer[k].len))
            memset(&l->latch[k], 0, sizeof l->latch[k]);
        l->remote[k] = peer[k];
    }
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int media_leg_map_payload(struct media_session *s, int leg, int from_pt, int to_pt)
{
    if (!valid_leg(leg) || from_pt < 0 || from_pt > 127 || to_pt < 0 || to_pt > 127 ||
        (to_pt >= 64 && to_pt <= 95))
        return -1;
    pthread_mutex_lock(&s->lock);
    s->leg[leg].pt_map[from_pt] = (uint8_t)to_pt;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int media_leg_set_hold(struct media_session *s, int leg, int on)
{
    if (!valid_leg(leg))
        return -1;
    pthread_mutex_lock(&s->lock);
    s->leg[leg].hold = on != 0;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

void media_leg_stats(const struct media_session *s, int leg, struct media_leg_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!valid_leg(leg))
        return;
    /* The lock is not part of the session's logical state: taking it on a const session only
     * serialises the copy against the media thread. */
    struct media_session *m = (struct media_session *)s;
    pthread_mutex_lock(&m->lock);
    *out = m->leg[leg].stats;
    media_report_stats(m, leg, out);
    pthread_mutex_unlock(&m->lock);
}
