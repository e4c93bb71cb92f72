/* Once a second this asks Redis for the bindings due a ping (ka_store), and sends each an OPTIONS
 * to its received address (never to the Contact's own, possibly private, address). Any final
 * answer proves the NAT pinhole open; only a timeout or transport error counts as a failure. */
#include "sip/keepalive.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/strmap.h"
#include "ring.h"
#include "store/ka_store.h"
#include "membership.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/su_tagarg.h>

#define BATCH_LIMIT 1000
#define MAX_IN_FLIGHT 5000

struct keepalive {
    nta_agent_t *agent;
    const struct tandem_config *cfg;
    struct ka_store *store;
    struct membership *nodes;
    su_timer_t *tick;
    struct strmap *failures; /* member -> consecutive failures (as a pointer-sized count) */
    struct ping *pings;      /* in flight, so shutdown can cancel them */
    int in_flight;
    int asking; /* due queries outstanding */
};

struct ping {
    struct ping *prev, *next;
    struct keepalive *ka;
    nta_outgoing_t *orq;
    char *member, *domain, *user, *field;
    char *set_node; /* whose keepalive set the binding is in */
    long long registered_at;
    double sent_at;
};

static void free_ping(struct ping *p)
{
    struct keepalive *ka = p->ka;
    if (p->prev)
        p->prev->next = p->next;
    else
        ka->pings = p->next;
    if (p->next)
        p->next->prev = p->prev;
    ka->in_flight--;
    if (p->orq)
        nta_outgoing_destroy(p->orq);
    free(p->member);
    free(p->set_node);
    free(p->domain);
    free(p->user);
    free(p->field);
    free(p);
}

static void record(struct keepalive *ka, struct ping *p, int answered)
{
    if (answered) {
        strmap_remove(ka->failures, p->member);
        return;
    }
    uintptr_t n = (uintptr_t)strmap_get(ka->failures, p->member) + 1;
    if ((int)n < ka->cfg->nat_keepalive_failures) {
        strmap_put(ka->failures, p->member, (void *)n, NULL);
        return;
    }
    strmap_remove(ka->failures, p->member);
    struct ka_target t = {.member = p->member,
                          .domain = p->domain,
                          .user = p->user,
                          .field = p->field,
                          .registered_at = p->registered_at};
    log_info(NULL, "keepalive: removing %s@%s binding %s after %d unanswered pings", p->user,
             p->domain, p->field, (int)n);
    if (ka_store_remove(ka->store, p->set_node, &t) != 0)
        log_warn(NULL, "keepalive: cannot remove %s@%s now: Redis unavailable", p->user, p->domain);
}

static int on_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, sip_t const *sip)
{
    (void)orq;
    struct ping *p = (struct ping *)magic;
    int status = sip && sip->sip_status ? sip->sip_status->st_status : 408;
    if (status < 200)
        return 0;
    /* 408 and 503 are what nta reports for a timeout or a transport error (no answer). */
    record(p->ka, p, status != 408 && status != 503);
    free_ping(p);
    return 0;
}

static void send_ping(struct keepalive *ka, const char *set_node, const struct ka_target *t)
{
    struct ping *p = calloc(1, sizeof *p);
    if (!p)
        return;
    p->ka = ka;
    p->member = strdup(t->member);
    p->set_node = strdup(set_node);
    p->domain = strdup(t->domain);
    p->user = strdup(t->user);
    p->field = strdup(t->field);
    p->registered_at = t->registered_at;
    p->sent_at = clock_mono();
    p->next = ka->pings;
    if (ka->pings)
        ka->pings->prev = p;
    ka->pings = p;
    ka->in_flight++;
    if (!p->member || !p->set_node || !p->domain || !p->user || !p->field) {
        free_ping(p);
        return;
    }

    char route[160], from[300];
    snprintf(route, sizeof route, "sip:%s;transport=%s", t->received, t->transport);
    snprintf(from, sizeof from, "<sip:keepalive@%s>", t->domain);
    msg_t *msg = nta_msg_create(ka->agent, 0);
    sip_t *sip = msg ? sip_object(msg) : NULL;
    su_home_t *home = msg ? msg_home(msg) : NULL;
    if (!sip ||
        sip_add_tl(msg, sip,
                   SIPTAG_REQUEST(sip_request_create(home, SIP_METHOD_OPTIONS,
                                                     (url_string_t *)t->contact, NULL)),
                   SIPTAG_FROM_STR(from), SIPTAG_TO_STR(t->aor),
                   SIPTAG_CALL_ID(sip_call_id_create(home, NULL)),
                   SIPTAG_CSEQ(sip_cseq_create(home, 1, SIP_METHOD_OPTIONS)),
                   SIPTAG_MAX_FORWARDS_STR("70"), TAG_END()) < 0 ||
        !sip->sip_request) {
        if (msg)
            msg_destroy(msg);
        free_ping(p);
        return;
    }
    if (sip->sip_from)
        sip_from_tag(home, sip->sip_from, NULL);
    p->orq = nta_outgoing_mcreate(ka->agent, on_response, (nta_outgoing_magic_t *)p,
                                  URL_STRING_MAKE(route), msg, TAG_END());
    if (!p->orq) {
        /* nta releases the message when it cannot create the transaction */
        log_debug(NULL, "keepalive: cannot send OPTIONS to %s via %s", t->contact, route);
        record(ka, p, 0);
        free_ping(p);
    }
}

struct due_query {
    struct keepalive *ka;
    char node[64];
};

static void on_due(void *arg, const struct ka_target *targets, size_t n)
{
    struct due_query *q = arg;
    struct keepalive *ka = q->ka;
    ka->asking--;
    for (size_t i = 0; i < n && ka->in_flight < MAX_IN_FLIGHT; i++)
        send_ping(ka, q->node, &targets[i]);
    free(q);
}

static void ask(struct keepalive *ka, const char *node)
{
    struct due_query *q = malloc(sizeof *q);
    if (!q)
        return;
    q->ka = ka;
    snprintf(q->node, sizeof q->node, "%s", node);
    if (ka_store_due(ka->store, node, ka->cfg->nat_keepalive_interval, BATCH_LIMIT, on_due, q) == 0)
        ka->asking++;
    else
        free(q);
}

static void tick(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    struct keepalive *ka = (struct keepalive *)arg;
    /* nta would wait 64*T1 (32 s) for a lost OPTIONS; a ping not answered within one interval
     * (2 to 32 s) is already a failure, and waiting longer would only pile pings up. */
    double limit = ka->cfg->nat_keepalive_interval < 2    ? 2
                   : ka->cfg->nat_keepalive_interval > 32 ? 32
                                                          : ka->cfg->nat_keepalive_interval;
    double now = clock_mono();
    for (struct ping *p = ka->pings, *next; p; p = next) {
        next = p->next;
        if (now - p->sent_at > limit) {
            record(ka, p, 0);
            free_ping(p);
        }
    }
    if (ka->asking || ka->in_flight >= MAX_IN_FLIGHT)
        return;
    ask(ka, ka->cfg->node_id);
    /* DESIGN 4: the successor of a dead node is the owner of its id over the survivors; a node
     * without quorum claims nothing, so it keeps to its own bindings. */
    if (!membership_quorate(ka->nodes))
        return;
    const char *const *live, *const *dead;
    size_t nlive = membership_live(ka->nodes, &live);
    size_t ndead = membership_dead(ka->nodes, &dead);
    for (size_t i = 0; i < ndead; i++) {
        int owner = ring_owner(live, nlive, dead[i]);
        if (owner >= 0 && strcmp(live[owner], ka->cfg->node_id) == 0)
            ask(ka, dead[i]);
    }
}

struct keepalive *keepalive_create(su_root_t *root, nta_agent_t *agent,
                                   const struct tandem_config *cfg, struct ka_store *store,
                                   struct membership *nodes)
{
    if (cfg->nat_keepalive_interval <= 0)
        return NULL;
    struct keepalive *ka = calloc(1, sizeof *ka);
    if (!ka)
        return NULL;
    ka->agent = agent;
    ka->cfg = cfg;
    ka->store = store;
    ka->nodes = nodes;
    ka->failures = strmap_create();
    ka->tick = su_timer_create(su_root_task(root), 1000);
    if (!ka->failures || !ka->tick) {
        keepalive_destroy(ka);
        return NULL;
    }
    su_timer_set_for_ever(ka->tick, tick, (su_timer_arg_t *)ka);
    return ka;
}

void keepalive_destroy(struct keepalive *ka)
{
    if (!ka)
        return;
    if (ka->tick)
        su_timer_destroy(ka->tick);
    while (ka->pings)
        free_ping(ka->pings);
    strmap_destroy(ka->failures, NULL);
    free(ka);
}
