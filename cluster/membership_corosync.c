/* The corosync source: a CPG group for who runs tandemd where, the quorum service (votequorum
 * behind it) for whether this partition may act, and for which totem ring that verdict is. Each
 * member multicasts its announcement after every configuration change, so a newcomer learns
 * everyone's and everyone learns the newcomer's; the table is keyed by (nodeid, pid), a CPG member,
 * and a member counts as live once its announcement arrived. Both handles' fds sit in the su_root
 * and are dispatched with CS_DISPATCH_ALL, which never blocks. If corosync goes away the node loses
 * quorum at once and reconnects every retry_ms; the last table stays, since "I cannot see" is not
 * "they died". */
#include "common/log.h"
#include "membership_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <corosync/cpg.h>
#include <corosync/quorum.h>

struct entry {
    uint32_t nodeid, pid;
    int announced;
    struct member mb;
};

#define PAST_MAX 32

struct membership_corosync {
    struct membership *m;
    su_root_t *root;
    struct member self;
    struct cpg_name group;
    int retry_ms;
    cpg_handle_t cpg;
    quorum_handle_t quorum;
    int cpg_ok, quorum_ok;     /* handles initialised */
    int cpg_wait, quorum_wait; /* su_root registrations, 0 when none */
    uint32_t nodeid;
    struct entry *table;
    size_t n;
    /* Announced processes that left the group, kept so the same process coming back (a ring
     * flap) is live again at once: until its announcement arrived it would count as dead, and
     * its successor could claim a node that is running. */
    struct entry past[PAST_MAX];
    size_t npast;
    uint64_t seq;      /* totem ring sequence */
    uint32_t changes;  /* CPG configuration changes within this ring */
    int announce_due;  /* our announcement still to send (CS_ERR_TRY_AGAIN) */
    int dirty;         /* the table changed: report after the dispatch */
    su_timer_t *timer; /* reconnects, and resends a postponed announcement */
    int connected;
};

static const char *cs_name(cs_error_t e)
{
    switch (e) {
    case CS_OK:
        return "ok";
    case CS_ERR_LIBRARY:
        return "cannot reach corosync (CS_ERR_LIBRARY: is corosync running?)";
    case CS_ERR_TRY_AGAIN:
        return "try again";
    case CS_ERR_BAD_HANDLE:
        return "bad handle";
    case CS_ERR_ACCESS:
        return "access denied (CS_ERR_ACCESS: run as root or add the user to uidgid)";
    case CS_ERR_NOT_EXIST:
        return "not exist";
    default:
        return "corosync error";
    }
}

/* The time (ring, change) a table snapshot belongs to, growing with every change. */
static uint64_t ring_id(const struct membership_corosync *c)
{
    return (c->seq << 16) | (c->changes & 0xffff);
}

static void report(struct membership_corosync *c)
{
    struct member *v = calloc(c->n ? c->n : 1, sizeof *v);
    if (!v) {
        log_error(NULL, "membership: out of memory reading the CPG table");
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->table[i].announced)
            v[k++] = c->table[i].mb;
    membership_update(c->m, v, k, ring_id(c));
    free(v);
    c->dirty = 0;
}

/* The announcement carries the sender's (ring, change) after the member fields (decoders of
 * member lines ignore what follows the role), so a process that joined a ring late adopts the
 * count of changes the others saw in it, and every member gives a departure the same ring id. */
static void announce(struct membership_corosync *c)
{
    char line[512];
    size_t l;
    if (member_encode(&c->self, line, sizeof line) != 0)
        return; /* checked at start */
    l = strlen(line);
    snprintf(line + l, sizeof line - l, "\t%" PRIu64 "\t%" PRIu32, c->seq, c->changes);
    struct iovec iov = {.iov_base = line, .iov_len = strlen(line) + 1};
    cs_error_t e = cpg_mcast_joined(c->cpg, CPG_TYPE_AGREED, &iov, 1);
    c->announce_due = e == CS_ERR_TRY_AGAIN;
    if (e != CS_OK && e != CS_ERR_TRY_AGAIN)
        log_warn(NULL, "membership: cannot multicast the announcement: %s", cs_name(e));
}

static struct entry *find(struct membership_corosync *c, uint32_t nodeid, uint32_t pid)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->table[i].nodeid == nodeid && c->table[i].pid == pid)
            return &c->table[i];
    return NULL;
}

static void on_deliver(cpg_handle_t h, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
                       void *msg, size_t len)
{
    (void)group;
    struct membership_corosync *c;
    if (cpg_context_get(h, (void **)&c) != CS_OK)
        return;
    struct entry *e = find(c, nodeid, pid);
    const char *text = msg;
    struct member mb;
    if (!e || len == 0 || text[len - 1] != '\0' || member_decode(text, &mb) != 0)
        return; /* not (or no longer) a member, or not ours: ignore */
    mb.nodeid = nodeid;
    uint64_t seq;
    uint32_t changes;
    const char *tail = text;
    for (int tabs = 0; tail && tabs < 6; tabs++)
        tail = (tail = strchr(tail, '\t')) ? tail + 1 : NULL;
    if (tail && sscanf(tail, "%" SCNu64 "\t%" SCNu32, &seq, &changes) == 2 && seq == c->seq &&
        changes > c->changes) {
        c->changes = changes;
        c->dirty = 1;
    }
    if (!e->announced || memcmp(&e->mb, &mb, sizeof mb) != 0) {
        e->mb = mb;
        e->announced = 1;
        c->dirty = 1;
    }
}

static void remember_leavers(struct membership_corosync *c, const struct cpg_address *members,
                             size_t n)
{
    for (size_t i = 0; i < c->n; i++) {
        const struct entry *e = &c->table[i];
        int stays = 0;
        for (size_t j = 0; j < n && !stays; j++)
            stays = members[j].nodeid == e->nodeid && members[j].pid == e->pid;
        if (stays || !e->announced)
            continue;
        size_t k = 0;
        while (k < c->npast && c->past[k].nodeid != e->nodeid)
            k++; /* one process per node: a newer one replaces it */
        if (k == c->npast) {
            if (c->npast == PAST_MAX)
                continue;
            c->npast++;
        }
        c->past[k] = *e;
    }
}

static const struct entry *remembered(const struct membership_corosync *c, uint32_t nodeid,
                                      uint32_t pid)
{
    for (size_t k = 0; k < c->npast; k++)
        if (c->past[k].nodeid == nodeid && c->past[k].pid == pid)
            return &c->past[k];
    return NULL;
}

static void on_confchg(cpg_handle_t h, const struct cpg_name *group,
                       const struct cpg_address *members, size_t n, const struct cpg_address *left,
                       size_t nleft, const struct cpg_address *joined, size_t njoined)
{
    (void)group;
    (void)left;
    (void)joined;
    struct membership_corosync *c;
    if (cpg_context_get(h, (void **)&c) != CS_OK)
        return;
    struct entry *t = calloc(n ? n : 1, sizeof *t);
    if (!t) {
        log_error(NULL, "membership: out of memory on a CPG change");
        return;
    }
    uint32_t pid = (uint32_t)getpid();
    for (size_t i = 0; i < n; i++) {
        struct entry *old = find(c, members[i].nodeid, members[i].pid);
        t[i].nodeid = members[i].nodeid;
        t[i].pid = members[i].pid;
        const struct entry *back = old ? NULL : remembered(c, members[i].nodeid, members[i].pid);
        if (old) {
            t[i] = *old;
        } else if (back) {
            t[i] = *back;
        } else if (members[i].nodeid == c->nodeid && members[i].pid == pid) {
            t[i].mb = c->self;
            t[i].mb.nodeid = c->nodeid;
            t[i].announced = 1;
        }
    }
    remember_leavers(c, members, n);
    free(c->table);
    c->table = t;
    c->n = n;
    c->changes++;
    c->dirty = 1;
    log_info(NULL, "membership: CPG change: %zu processes, %zu left, %zu joined", n, nleft,
             njoined);
    announce(c);
}

static void on_totem(cpg_handle_t h, struct cpg_ring_id ring, uint32_t n, const uint32_t *list)
{
    (void)list;
    struct membership_corosync *c;
    if (cpg_context_get(h, (void **)&c) != CS_OK)
        return;
    if (ring.seq != c->seq) {
        c->seq = ring.seq;
        c->changes = 0;
    }
    log_info(NULL, "membership: totem ring %" PRIu64 " (%" PRIu32 " nodes)", ring.seq, n);
}

/* corosync sends the verdict for a new ring once that ring's sync is done, and between rings
 * only when quorum changes; it names the ring, so a departure seen in ring r is judged by a
 * verdict for r or later (every change within r included: a tandemd leaving the group changes
 * no ring). */
static void on_quorum(quorum_handle_t h, uint32_t quorate, struct quorum_ring_id ring, uint32_t n,
                      const uint32_t *members)
{
    (void)n;
    (void)members;
    const void *ctx;
    if (quorum_context_get(h, &ctx) != CS_OK || !ctx)
        return;
    struct membership_corosync *c = (struct membership_corosync *)ctx;
    membership_set_quorate(c->m, quorate != 0);
    membership_set_verdict_ring(c->m, ring.seq << 16 | 0xffff); /* above ring_id()'s in it */
    log_debug(NULL, "membership: quorum verdict for ring %" PRIu64 ": %s", ring.seq,
              quorate ? "quorate" : "not quorate");
}

static void disconnect(struct membership_corosync *c);

/* corosync gone (or the handle broken): no quorum, and try again later. */
static void lost(struct membership_corosync *c, const char *what, cs_error_t e)
{
    log_error(NULL,
              "membership: lost corosync (%s: %s); no quorum until it is back, retrying "
              "every %d ms",
              what, cs_name(e), c->retry_ms);
    membership_set_quorate(c->m, 0); /* first: finalising the handles takes a while */
    disconnect(c);                   /* on_timer reconnects */
}

static int on_cpg_fd(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void)magic;
    (void)w;
    struct membership_corosync *c = (struct membership_corosync *)arg;
    cs_error_t e = cpg_dispatch(c->cpg, CS_DISPATCH_ALL);
    if (e != CS_OK) {
        lost(c, "cpg_dispatch", e);
        return 0;
    }
    /* After the whole batch: the totem ring of a change is known by then, whatever the order
     * corosync delivered the two callbacks in. */
    if (c->dirty)
        report(c);
    return 0;
}

static int on_quorum_fd(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void)magic;
    (void)w;
    struct membership_corosync *c = (struct membership_corosync *)arg;
    cs_error_t e = quorum_dispatch(c->quorum, CS_DISPATCH_ALL);
    if (e != CS_OK)
        lost(c, "quorum_dispatch", e);
    return 0;
}

static void disconnect(struct membership_corosync *c)
{
    if (c->cpg_wait > 0)
        su_root_deregister(c->root, c->cpg_wait);
    if (c->quorum_wait > 0)
        su_root_deregister(c->root, c->quorum_wait);
    c->cpg_wait = c->quorum_wait = 0;
    if (c->cpg_ok)
        cpg_finalize(c->cpg);
    if (c->quorum_ok)
        quorum_finalize(c->quorum);
    c->cpg_ok = c->quorum_ok = 0;
    c->connected = 0;
    c->announce_due = 0;
}

static int watch(struct membership_corosync *c, int fd, su_wakeup_f cb)
{
    su_wait_t w;
    if (su_wait_create(&w, fd, SU_WAIT_IN) != 0)
        return -1;
    return su_root_register(c->root, &w, cb, (su_wakeup_arg_t *)c, 0);
}

/* Connects both handles, joins the group and reads the current quorum. 0, or -1 with err. */
static int connect_corosync(struct membership_corosync *c, char *err, size_t errlen)
{
    cpg_model_v1_data_t model = {
        .model = CPG_MODEL_V1,
        .cpg_deliver_fn = on_deliver,
        .cpg_confchg_fn = on_confchg,
        .cpg_totem_confchg_fn = on_totem,
        .flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF,
    };
    quorum_model_v1_data_t qmodel = {.model = QUORUM_MODEL_V1, .quorum_notify_fn = on_quorum};
    const char *what = "cpg_model_initialize";
    int fd = -1, quorate = 0;
    uint32_t provider = 0;
    cs_error_t e = cpg_model_initialize(&c->cpg, CPG_MODEL_V1, (cpg_model_data_t *)&model, c);
    if (e != CS_OK)
        goto fail;
    c->cpg_ok = 1;
    what = "quorum_model_initialize";
    if ((e = quorum_model_initialize(&c->quorum, QUORUM_MODEL_V1, (quorum_model_data_t *)&qmodel,
                                     &provider, c)) != CS_OK)
        goto fail;
    c->quorum_ok = 1;
    what = "quorum provider (corosync.conf has no quorum.provider)";
    e = CS_ERR_NOT_EXIST;
    if (provider != QUORUM_SET)
        goto fail;
    what = "cpg_local_get";
    if ((e = cpg_local_get(c->cpg, &c->nodeid)) != CS_OK)
        goto fail;
    what = "quorum_getquorate";
    if ((e = quorum_getquorate(c->quorum, &quorate)) != CS_OK)
        goto fail;
    what = "quorum_trackstart";
    if ((e = quorum_trackstart(c->quorum, CS_TRACK_CURRENT | CS_TRACK_CHANGES)) != CS_OK)
        goto fail;
    what = "cpg_join";
    if ((e = cpg_join(c->cpg, &c->group)) != CS_OK)
        goto fail;
    what = "fd";
    e = CS_ERR_LIBRARY;
    if (cpg_fd_get(c->cpg, &fd) != CS_OK || (c->cpg_wait = watch(c, fd, on_cpg_fd)) <= 0 ||
        quorum_fd_get(c->quorum, &fd) != CS_OK ||
        (c->quorum_wait = watch(c, fd, on_quorum_fd)) <= 0)
        goto fail;
    c->connected = 1;
    membership_set_quorate(c->m, quorate);
    log_info(NULL, "membership: joined CPG group %.*s as nodeid %" PRIu32 " (%s)",
             (int)c->group.length, c->group.value, c->nodeid, quorate ? "quorate" : "not quorate");
    return 0;
fail:
    snprintf(err, errlen, "corosync: %s: %s", what, cs_name(e));
    disconnect(c);
    return -1;
}

static void on_timer(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    struct membership_corosync *c = (struct membership_corosync *)arg;
    if (c->connected) {
        if (c->announce_due)
            announce(c);
        return;
    }
    char err[256];
    if (connect_corosync(c, err, sizeof err) == 0)
        log_info(NULL, "membership: corosync is back");
    else
        log_debug(NULL, "membership: %s", err);
}

struct membership_corosync *membership_corosync_start(struct membership *m, su_root_t *root,
                                                      const struct member *self, const char *group,
                                                      int retry_ms, char *err, size_t errlen)
{
    struct membership_corosync *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->m = m;
    c->root = root;
    c->self = *self;
    c->retry_ms = retry_ms;
    c->group.length = (uint32_t)strlen(group);
    if (c->group.length > CPG_MAX_NAME_LENGTH) {
        snprintf(err, errlen, "cluster.group: longer than %d characters", CPG_MAX_NAME_LENGTH);
        free(c);
        return NULL;
    }
    memcpy(c->group.value, group, c->group.length);
    c->timer = su_timer_create(su_root_task(root), (su_duration_t)retry_ms);
    if (!c->timer) {
        snprintf(err, errlen, "out of memory");
        free(c);
        return NULL;
    }
    if (connect_corosync(c, err, errlen) != 0) {
        membership_corosync_stop(c);
        return NULL;
    }
    su_timer_set_for_ever(c->timer, on_timer, (su_timer_arg_t *)c);
    return c;
}

void membership_corosync_stop(struct membership_corosync *c)
{
    if (!c)
        return;
    if (c->timer)
        su_timer_destroy(c->timer);
    if (c->cpg_ok && c->connected)
        cpg_leave(c->cpg, &c->group);
    disconnect(c);
    free(c->table);
    free(c);
}
