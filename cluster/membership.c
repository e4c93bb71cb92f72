/* The membership core: the live table both sources feed, the down callbacks, the list of dead
 * nodes, and a copy under a lock for the REST API's threads. Everything but membership_view_get
 * runs on the signalling loop. */
#include "membership.h"

#include "common/config.h"
#include "common/log.h"
#include "membership_internal.h"
#include "membership_redis.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct membership {
    struct member self;
    char mode[16];
    struct member *members; /* live, by name, self included */
    const char **names;     /* members[i].name */
    size_t n;
    char **dead;
    size_t ndead;
    int quorate;
    uint64_t ring_id;
    uint64_t verdict_ring_id; /* the view the quorum verdict is for; 0: the source gives none */
    struct {
        membership_down_f *cb;
        void *arg;
    } down[MEMBERSHIP_MAX_DOWN];
    size_t ndown;
    struct membership_redis *redis;
    struct membership_corosync *corosync;
    /* The copy other threads read. */
    pthread_mutex_t lock;
    struct membership_view shared;
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct member *)a)->name, ((const struct member *)b)->name);
}

static int has_name(const struct member *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return 1;
    return 0;
}

/* Publishes the table to other threads; on allocation failure they keep the previous copy. */
static void publish(struct membership *m)
{
    struct member *copy = malloc((m->n ? m->n : 1) * sizeof *copy);
    if (!copy)
        return;
    size_t k = 0;
    copy[k++] = m->self;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->members[i].name, m->self.name) != 0)
            copy[k++] = m->members[i];
        else
            copy[0] = m->members[i]; /* carries the nodeid corosync gave us */
    pthread_mutex_lock(&m->lock);
    free(m->shared.members);
    m->shared.members = copy;
    m->shared.n = k;
    m->shared.quorate = m->quorate;
    m->shared.ring_id = m->ring_id;
    pthread_mutex_unlock(&m->lock);
}

void membership_update(struct membership *m, const struct member *live, size_t n, uint64_t ring_id)
{
    struct member *v = malloc((n + 1) * sizeof *v);
    const char **names = malloc((n + 1) * sizeof *names);
    if (!v || !names) {
        /* Keep the old table: a missed change is corrected by the next one. */
        log_error(NULL, "membership: out of memory; membership change ignored");
        free(v);
        free(names);
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (live[i].name[0] && !has_name(v, k, live[i].name))
            v[k++] = live[i];
    if (!has_name(v, k, m->self.name))
        v[k++] = m->self;
    qsort(v, k, sizeof *v, by_name);
    for (size_t i = 0; i < k; i++)
        names[i] = v[i].name;

    int changed = k != m->n;
    for (size_t i = 0; !changed && i < k; i++)
        changed = memcmp(&v[i], &m->members[i], sizeof *v) != 0;
    struct member *old = m->members;
    size_t nold = m->n;
    m->members = v;
    free(m->names);
    m->names = names;
    m->n = k;
    if (ring_id > m->ring_id) {
        m->ring_id = ring_id;
        changed = 1;
    }
    for (size_t i = 0; i < k; i++)
        if (!has_name(old, nold, v[i].name) && strcmp(v[i].name, m->self.name) != 0)
            log_info(NULL,
                     "membership: member %s (nodeid %" PRIu32 ", %s:%d) joined, ring %" PRIu64,
                     v[i].name, v[i].nodeid, v[i].service_address, v[i].sip_port, m->ring_id);
    /* Callbacks may read the new table (membership_live) while they run. */
    for (size_t i = 0; i < nold; i++) {
        if (has_name(v, k, old[i].name))
            continue;
        log_warn(NULL, "membership: member %s (nodeid %" PRIu32 ") down, ring %" PRIu64,
                 old[i].name, old[i].nodeid, m->ring_id);
        for (size_t c = 0; c < m->ndown; c++)
            m->down[c].cb(m->down[c].arg, &old[i], m->ring_id);
    }
    free(old);
    if (changed)
        publish(m);
}

void membership_set_quorate(struct membership *m, int quorate)
{
    quorate = quorate != 0;
    if (quorate == m->quorate)
        return;
    m->quorate = quorate;
    if (quorate)
        log_info(NULL, "membership: quorate");
    else
        log_warn(NULL, "membership: quorum lost: new calls are refused and nothing is claimed");
    publish(m);
}

void membership_set_verdict_ring(struct membership *m, uint64_t ring_id)
{
    if (ring_id > m->verdict_ring_id)
        m->verdict_ring_id = ring_id;
}

void membership_set_known(struct membership *m, const char *const *names, size_t n)
{
    char **dead = calloc(n ? n : 1, sizeof *dead);
    size_t k = 0;
    int ok = dead != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        if (has_name(m->members, m->n, names[i]))
            continue;
        ok = (dead[k] = strdup(names[i])) != NULL;
        k += ok;
    }
    if (!ok) { /* keep the previous list until the next second */
        for (size_t i = 0; dead && i < k; i++)
            free(dead[i]);
        free(dead);
        return;
    }
    for (size_t i = 0; i < m->ndead; i++)
        free(m->dead[i]);
    free(m->dead);
    m->dead = dead;
    m->ndead = k;
}

/* -1 when a setting does not fit the announcement's fields. */
static int self_from_config(struct member *self, const struct tandem_config *cfg)
{
    memset(self, 0, sizeof *self);
    const char *addr =
        cfg->cluster_service_address[0] ? cfg->cluster_service_address : cfg->sip_address;
    int fit =
        snprintf(self->name, sizeof self->name, "%s", cfg->node_id) < (int)sizeof self->name &&
        snprintf(self->service_address, sizeof self->service_address, "%s", addr) <
            (int)sizeof self->service_address &&
        snprintf(self->role, sizeof self->role, "%s", cfg->cluster_role) < (int)sizeof self->role;
    self->sip_port = cfg->sip_port;
    int n = 0;
    if (cfg->cluster_api_url[0])
        n = snprintf(self->api_url, sizeof self->api_url, "%s", cfg->cluster_api_url);
    else if (cfg->api_port)
        n = snprintf(self->api_url, sizeof self->api_url,
                     strchr(cfg->api_address, ':') ? "http://[%s]:%d" : "http://%s:%d",
                     cfg->api_address, cfg->api_port);
    return fit && n < (int)sizeof self->api_url ? 0 : -1;
}

struct membership *membership_create(su_root_t *root, const struct tandem_config *cfg,
                                     struct redis_conn *redis, char *err, size_t errlen)
{
    struct membership *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->lock, NULL);
    int fits = self_from_config(&m->self, cfg) == 0;
    snprintf(m->mode, sizeof m->mode, "%s", cfg->cluster_membership);
    snprintf(m->shared.mode, sizeof m->shared.mode, "%s", m->mode);
    int corosync = strcmp(m->mode, "corosync") == 0;
    char line[512];
    if (!fits || member_encode(&m->self, line, sizeof line) != 0) {
        snprintf(err, errlen, "node.id, cluster.* or api settings hold a tab or are too long");
        membership_destroy(m);
        return NULL;
    }
    /* Redis mode is always quorate: there is nothing to be in a minority of. */
    m->quorate = !corosync;
    membership_update(m, NULL, 0, 1);
    publish(m);
    m->redis = membership_redis_start(m, root, redis, line, !corosync, cfg->cluster_dead_after_ms);
    if (!m->redis) {
        snprintf(err, errlen, "out of memory");
        membership_destroy(m);
        return NULL;
    }
    if (corosync) {
        m->corosync = membership_corosync_start(m, root, &m->self, cfg->cluster_group,
                                                cfg->cluster_retry_ms, err, errlen);
        if (!m->corosync) {
            membership_destroy(m);
            return NULL;
        }
    }
    log_info(NULL, "membership: %s mode, announcing %s at %s:%d (api %s, role %s)", m->mode,
             m->self.name, m->self.service_address, m->self.sip_port,
             m->self.api_url[0] ? m->self.api_url : "none", m->self.role);
    return m;
}

void membership_destroy(struct membership *m)
{
    if (!m)
        return;
    membership_corosync_stop(m->corosync);
    membership_redis_stop(m->redis);
    for (size_t i = 0; i < m->ndead; i++)
        free(m->dead[i]);
    free(m->dead);
    free(m->members);
    free(m->names);
    free(m->shared.members);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void membership_on_down(struct membership *m, membership_down_f *cb, void *arg)
{
    if (!cb) { /* unregistering everything registered with arg */
        size_t kept = 0;
        for (size_t i = 0; i < m->ndown; i++)
            if (m->down[i].arg != arg)
                m->down[kept++] = m->down[i];
        m->ndown = kept;
        return;
    }
    if (m->ndown == MEMBERSHIP_MAX_DOWN) {
        log_error(NULL, "membership: too many down callbacks; one ignored");
        return;
    }
    m->down[m->ndown].cb = cb;
    m->down[m->ndown].arg = arg;
    m->ndown++;
}

size_t membership_live(const struct membership *m, const char *const **names)
{
    *names = (const char *const *)m->names;
    return m->n;
}

size_t membership_members(const struct membership *m, const struct member **members)
{
    *members = m->members;
    return m->n;
}

int membership_quorate(const struct membership *m)
{
    return m->quorate;
}

uint64_t membership_ring_id(const struct membership *m)
{
    return m->ring_id;
}

int membership_quorum_settled(const struct membership *m, uint64_t ring_id)
{
    return m->verdict_ring_id != 0 && m->verdict_ring_id >= ring_id;
}

const struct member *membership_self(const struct membership *m)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->members[i].name, m->self.name) == 0)
            return &m->members[i];
    return &m->self;
}

const char *membership_mode(const struct membership *m)
{
    return m->mode;
}

size_t membership_dead(const struct membership *m, const char *const **names)
{
    *names = (const char *const *)m->dead;
    return m->ndead;
}

int membership_view_get(const struct membership *m, struct membership_view *out)
{
    struct membership *mm = (struct membership *)m; /* the lock, not the data, changes */
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&mm->lock);
    out->members = malloc((mm->shared.n ? mm->shared.n : 1) * sizeof *out->members);
    if (out->members) {
        memcpy(out->members, mm->shared.members, mm->shared.n * sizeof *out->members);
        out->n = mm->shared.n;
        out->quorate = mm->shared.quorate;
        out->ring_id = mm->shared.ring_id;
        memcpy(out->mode, mm->shared.mode, sizeof out->mode);
    }
    pthread_mutex_unlock(&mm->lock);
    return out->members ? 0 : -1;
}

void membership_view_free(struct membership_view *v)
{
    free(v->members);
    v->members = NULL;
    v->n = 0;
}

/* A field must not hold the separators. */
static int clean(const char *s)
{
    return strpbrk(s, "\t\r\n") == NULL;
}

int member_encode(const struct member *mb, char *out, size_t len)
{
    if (!clean(mb->name) || !clean(mb->service_address) || !clean(mb->api_url) || !clean(mb->role))
        return -1;
    int n = snprintf(out, len, "tandem1\t%s\t%s\t%d\t%s\t%s", mb->name, mb->service_address,
                     mb->sip_port, mb->api_url, mb->role);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Copies the field at *p (up to a tab or the end) into out; -1 when it does not fit. */
static int field(const char **p, char *out, size_t len)
{
    size_t l = strcspn(*p, "\t");
    if (l >= len)
        return -1;
    memcpy(out, *p, l);
    out[l] = '\0';
    *p += l + ((*p)[l] == '\t');
    return 0;
}

int member_decode(const char *text, struct member *mb)
{
    char tag[16], port[16];
    memset(mb, 0, sizeof *mb);
    const char *p = text;
    if (field(&p, tag, sizeof tag) || strcmp(tag, "tandem1") ||
        field(&p, mb->name, sizeof mb->name) || !mb->name[0] ||
        field(&p, mb->service_address, sizeof mb->service_address) ||
        field(&p, port, sizeof port) || field(&p, mb->api_url, sizeof mb->api_url) ||
        field(&p, mb->role, sizeof mb->role))
        return -1;
    char *end;
    long v = strtol(port, &end, 10);
    if (*end || v < 0 || v > 65535)
        return -1;
    mb->sip_port = (int)v;
    return 0;
}
