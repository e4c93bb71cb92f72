/* Creates the nta agent (transaction layer only, no nua: dialogs are ours, see DESIGN 3.1) and
 * routes each request that starts no known transaction. Requests over the rate limit or from a
 * banned source are dropped without an answer, as an answer is what a flood wants: they come
 * through the agent's message callback, not a default leg, because nta answers 500 to a server
 * transaction destroyed unanswered, so a request we drop must never become one. */
#include "sip/sip_server.h"

#include "common/clock.h"
#include "common/log.h"
#include "membership.h"
#include "sip/call.h"
#include "sip/dtmf_relay.h"
#include "sip/call_recover.h"
#include "sip/failover.h"
#include "sip/gateway_health.h"
#include "sip/keepalive.h"
#include "sip/ratelimit.h"
#include "sip/registrar.h"
#include "sip/service_address.h"
#include "sip/session_timer.h"
#include "sip/sip_tports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/su_tagarg.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/tport_tag.h>

#define ALLOWED_METHODS "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, PRACK"

struct sip_server {
    su_root_t *root;
    const struct tandem_config *cfg;
    struct node_status *status;
    nta_agent_t *agent;
    struct ratelimit *rl;
    struct registrar *registrar;
    struct keepalive *keepalive;
    struct gateway_health *gateways;
    struct calls *calls;
    struct failover *failover;
    struct service_address *addresses;
    struct membership *nodes;
    struct session_timers *session_timers;
    struct dtmf_relay *dtmf;
    su_timer_t *sweep;
    double last_limit_log;
    unsigned long dropped_since_log;
};

static void describe_source(struct sip_server *s, msg_t *msg, struct sip_source *src)
{
    memset(src, 0, sizeof *src);
    strcpy(src->transport, "udp");
    su_addrinfo_t *ai = msg_addrinfo(msg);
    if (ai && ai->ai_addr) {
        const struct sockaddr *sa = (const struct sockaddr *)ai->ai_addr;
        if (sa->sa_family == AF_INET) {
            const struct sockaddr_in *in = (const void *)sa;
            inet_ntop(AF_INET, &in->sin_addr, src->ip, sizeof src->ip);
            src->port = ntohs(in->sin_port);
        } else if (sa->sa_family == AF_INET6) {
            const struct sockaddr_in6 *in6 = (const void *)sa;
            inet_ntop(AF_INET6, &in6->sin6_addr, src->ip, sizeof src->ip);
            src->port = ntohs(in6->sin6_port);
        }
    }
    if (!src->ip[0])
        strcpy(src->ip, "unknown");
    if (strchr(src->ip, ':'))
        snprintf(src->received, sizeof src->received, "[%s]:%d", src->ip, src->port);
    else
        snprintf(src->received, sizeof src->received, "%s:%d", src->ip, src->port);
    tport_t *tp = nta_incoming_transport(s->agent, NULL, msg);
    const tp_name_t *name = tp ? tport_name(tp) : NULL;
    if (name) {
        snprintf(src->transport, sizeof src->transport, "%s", name->tpn_proto);
        for (char *p = src->transport; *p; p++)
            *p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
        snprintf(src->socket, sizeof src->socket, "%s:%s", name->tpn_host, name->tpn_port);
    }
    if (tp)
        tport_unref(tp);
}

static void reply_and_destroy(nta_incoming_t *irq, int status, const char *phrase, tag_type_t tag,
                              tag_value_t value, ...)
{
    ta_list ta;
    ta_start(ta, tag, value);
    nta_incoming_treply(irq, status, phrase, ta_tags(ta));
    ta_end(ta);
    nta_incoming_destroy(irq);
}

static void note_dropped(struct sip_server *s, const struct sip_source *src, const char *why)
{
    double now = clock_mono();
    s->dropped_since_log++;
    /* One line per second at most: a flood must not also flood the log. */
    if (now - s->last_limit_log >= 1.0) {
        log_warn(NULL, "dropping requests: src=%s reason=%s dropped=%lu", src->ip, why,
                 s->dropped_since_log);
        s->last_limit_log = now;
        s->dropped_since_log = 0;
    }
}

/* 1 when tag is one of SIP_SUPPORTED's comma-separated option tags. */
static int supported_option(const char *tag)
{
    size_t n = strlen(tag);
    for (const char *p = SIP_SUPPORTED; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ", ");
        if (len == n && strncasecmp(p, tag, n) == 0)
            return 1;
        p += len;
    }
    return 0;
}

/* RFC 3261 8.2.2.1 and 8.2.2.3 (10.3 steps 1-2 for REGISTER), for the methods we serve: a
 * Request-URI scheme other than sip/sips gets 416, an option tag in Require other than ours gets
 * 420 listing it. Returns 1 when it answered. Methods we do not serve get 405/501 first (8.2.1). */
static int reject_unserved(nta_incoming_t *irq, sip_t const *sip)
{
    enum url_type_e type = sip->sip_request->rq_url->url_type;
    if (type != url_sip && type != url_sips) {
        reply_and_destroy(irq, SIP_416_UNSUPPORTED_URI, TAG_END());
        return 1;
    }
    char unsupported[256] = "";
    size_t used = 0;
    for (sip_require_t const *rq = sip->sip_require; rq; rq = rq->k_next) {
        for (msg_param_t const *tag = rq->k_items; tag && *tag; tag++) {
            if (supported_option(*tag))
                continue;
            int n = snprintf(unsupported + used, sizeof unsupported - used, "%s%s",
                             used ? ", " : "", *tag);
            if (n < 0 || (size_t)n >= sizeof unsupported - used)
                break; /* the first few are enough for the client to see what failed */
            used += (size_t)n;
        }
    }
    if (!used)
        return 0;
    reply_and_destroy(irq, SIP_420_BAD_EXTENSION, SIPTAG_UNSUPPORTED_STR(unsupported), TAG_END());
    return 1;
}

static void on_request(struct sip_server *s, nta_incoming_t *irq, sip_t const *sip,
                       const struct sip_source *src)
{
    const char *cid = sip->sip_call_id ? sip->sip_call_id->i_id : NULL;
    log_debug(cid, "%s from %s over %s", sip->sip_request->rq_method_name, src->received,
              src->transport);

    sip_method_t method = sip->sip_request->rq_method;
    if ((method == sip_method_register || method == sip_method_options ||
         (method == sip_method_invite && !(sip->sip_to && sip->sip_to->a_tag))) &&
        reject_unserved(irq, sip))
        return;

    /* A To tag means an existing dialog; calls own every dialog this node knows. */
    if (sip->sip_to && sip->sip_to->a_tag && method != sip_method_register &&
        method != sip_method_options && method != sip_method_cancel) {
        calls_in_dialog(s->calls, irq, sip, src);
        return;
    }
    switch (method) {
    case sip_method_invite:
        /* DESIGN 4: a partition without quorum takes no new calls (the majority may be claiming
         * this node's work right now); the caller's proxy or phone tries another node. */
        if (!membership_quorate(s->nodes)) {
            char retry[16];
            snprintf(retry, sizeof retry, "%d", s->cfg->cluster_retry_after);
            log_info(cid, "INVITE refused: no cluster quorum");
            reply_and_destroy(irq, 503, "No Cluster Quorum", SIPTAG_RETRY_AFTER_STR(retry),
                              TAG_END());
            return;
        }
        calls_invite(s->calls, irq, sip, src);
        return;
    case sip_method_register:
        registrar_handle(s->registrar, irq, sip, src);
        return;
    case sip_method_options:
        reply_and_destroy(irq, SIP_200_OK, SIPTAG_ALLOW_STR(ALLOWED_METHODS),
                          SIPTAG_SUPPORTED_STR(SIP_SUPPORTED), SIPTAG_ACCEPT_STR("application/sdp"),
                          TAG_END());
        return;
    case sip_method_cancel:
    case sip_method_bye: /* RFC 3261 15.1.2: a BYE matching no dialog (no To tag: none could) */
    case sip_method_info:
    case sip_method_update:
    case sip_method_prack:
        reply_and_destroy(irq, SIP_481_NO_TRANSACTION, TAG_END());
        return;
    case sip_method_unknown:
        reply_and_destroy(irq, SIP_501_NOT_IMPLEMENTED, SIPTAG_ALLOW_STR(ALLOWED_METHODS),
                          TAG_END());
        return;
    default:
        reply_and_destroy(irq, SIP_405_METHOD_NOT_ALLOWED, SIPTAG_ALLOW_STR(ALLOWED_METHODS),
                          TAG_END());
        return;
    }
}

/* Every message nta does not match to a transaction of its own: stray responses and ACKs
 * outside any dialog (dropped), and new requests, in-dialog ACKs included, which become server
 * transactions only once the source is allowed in. */
static int on_message(nta_agent_magic_t *magic, nta_agent_t *agent, msg_t *msg, sip_t *sip)
{
    struct sip_server *s = (struct sip_server *)magic;
    if (!sip || !sip->sip_request ||
        (sip->sip_request->rq_method == sip_method_ack && !(sip->sip_to && sip->sip_to->a_tag))) {
        nta_msg_discard(agent, msg);
        return 0;
    }
    struct sip_source src;
    describe_source(s, msg, &src);
    switch (ratelimit_check(s->rl, src.ip, clock_mono())) {
    case RATELIMIT_BANNED:
        note_dropped(s, &src, "banned");
        nta_msg_discard(agent, msg);
        return 0;
    case RATELIMIT_LIMITED:
        note_dropped(s, &src, "rate-limit");
        nta_msg_discard(agent, msg);
        return 0;
    case RATELIMIT_PASS:
        break;
    }
    nta_incoming_t *irq = nta_incoming_create(agent, NULL, msg, sip, TAG_END());
    if (!irq) { /* nta has freed msg */
        log_warn(NULL, "cannot create a server transaction for a request from %s", src.received);
        return 0;
    }
    on_request(s, irq, sip, &src);
    return 0;
}

static void sweep_fire(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    struct sip_server *s = (struct sip_server *)arg;
    ratelimit_sweep(s->rl, clock_mono());
}

struct sip_server *sip_server_create(su_root_t *root, const struct tandem_config *cfg,
                                     struct node_status *status, const struct sip_server_deps *deps,
                                     char *err, size_t errlen)
{
    struct sip_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->root = root;
    s->cfg = cfg;
    s->status = status;
    s->nodes = deps->nodes;
    struct ratelimit_config rc = {
        .rate = cfg->security_rate_limit,
        .burst = cfg->security_rate_burst,
        .ban_failures = cfg->security_ban_failures,
        .ban_window = cfg->security_ban_window,
        .ban_seconds = cfg->security_ban_seconds,
    };
    s->rl = ratelimit_create(&rc);
    s->registrar = s->rl ? registrar_create(cfg, status, deps->users, deps->regs, s->rl) : NULL;
    if (!s->registrar) {
        snprintf(err, errlen, "out of memory");
        sip_server_destroy(s);
        return NULL;
    }

    /* sip.address may be an IPv6 literal; the URL needs it in brackets. */
    char url[CONFIG_STR_MAX + 64];
    const char *fmt =
        strchr(cfg->sip_address, ':') ? "sip:[%s]:%d;transport=%s" : "sip:%s:%d;transport=%s";
    snprintf(url, sizeof url, fmt, cfg->sip_address, cfg->sip_port, cfg->sip_udp ? "udp" : "tcp");
    s->agent = nta_agent_create(root, URL_STRING_MAKE(url), on_message, (nta_agent_magic_t *)s,
                                NTATAG_UA(0), NTATAG_SERVER_RPORT(1), NTATAG_CLIENT_RPORT(1),
                                TPTAG_UDP_RMEM(cfg->sip_udp_rcvbuf), TPTAG_IDENT(SIP_TPORT_IDENT),
                                TAG_END());
    if (s->agent && cfg->sip_udp && cfg->sip_tcp) {
        snprintf(url, sizeof url, fmt, cfg->sip_address, cfg->sip_port, "tcp");
        if (nta_agent_add_tport(s->agent, URL_STRING_MAKE(url), TPTAG_IDENT(SIP_TPORT_IDENT),
                                TAG_END()) != 0) {
            snprintf(err, errlen, "cannot listen on %s (TCP)", url);
            sip_server_destroy(s);
            return NULL;
        }
    }
    if (s->agent && cfg->sip_tls_port) {
        /* sofia-sip reads agent.pem (private key and certificate chain) and cafile.pem from
         * the directory; a client certificate is not required. */
        const char *tls_fmt = strchr(cfg->sip_address, ':') ? "sips:[%s]:%d;transport=tls"
                                                            : "sips:%s:%d;transport=tls";
        snprintf(url, sizeof url, tls_fmt, cfg->sip_address, cfg->sip_tls_port);
        if (nta_agent_add_tport(s->agent, URL_STRING_MAKE(url),
                                TPTAG_CERTIFICATE(cfg->sip_tls_cert_dir),
                                TPTAG_IDENT(SIP_TPORT_IDENT), TAG_END()) != 0) {
            snprintf(err, errlen, "cannot listen on %s (TLS; certificate in %s?)", url,
                     cfg->sip_tls_cert_dir);
            sip_server_destroy(s);
            return NULL;
        }
    }
    if (!s->agent) {
        snprintf(err, errlen, "cannot listen on %s:%d (port in use or address not local?)",
                 cfg->sip_address, cfg->sip_port);
        sip_server_destroy(s);
        return NULL;
    }
    s->sweep = su_timer_create(su_root_task(root), 10000);
    if (!s->sweep) {
        snprintf(err, errlen, "cannot create the rate-limit sweep timer");
        sip_server_destroy(s);
        return NULL;
    }
    su_timer_set_for_ever(s->sweep, sweep_fire, (su_timer_arg_t *)s);
    s->gateways =
        gateway_health_create(root, s->agent, cfg, deps->routing, deps->gateways, deps->nodes);
    if (!s->gateways) {
        snprintf(err, errlen, "out of memory");
        sip_server_destroy(s);
        return NULL;
    }
    s->dtmf = dtmf_relay_create(root, deps->media);
    if (!s->dtmf) {
        snprintf(err, errlen, "out of memory");
        sip_server_destroy(s);
        return NULL;
    }
    struct calls_deps cd = {
        .agent = s->agent,
        .root = root,
        .cfg = cfg,
        .status = status,
        .users = deps->users,
        .regs = deps->regs,
        .store = deps->calls,
        .media = deps->media,
        .rl = s->rl,
        .cdrs = deps->cdrs,
        .routing = deps->routing,
        .gateways = s->gateways,
        .dtmf = s->dtmf,
    };
    s->calls = calls_create(&cd);
    s->session_timers = s->calls ? session_timers_create(root, s->calls) : NULL;
    if (s->calls)
        dtmf_relay_bind(s->dtmf, s->calls);
    if (!s->session_timers) {
        snprintf(err, errlen, "out of memory");
        sip_server_destroy(s);
        return NULL;
    }
    s->addresses = service_address_create(root, cfg, deps->nodes, s->calls, deps->calls);
    s->failover = s->addresses ? failover_create(root, cfg, deps->nodes, s->calls, s->agent,
                                                 deps->calls, s->addresses)
                               : NULL;
    if (!s->failover) {
        snprintf(err, errlen, "out of memory");
        sip_server_destroy(s);
        return NULL;
    }
    s->keepalive = keepalive_create(root, s->agent, cfg, deps->kas, deps->nodes);
    if (!s->keepalive && cfg->nat_keepalive_interval > 0) {
        snprintf(err, errlen, "out of memory");
        sip_server_destroy(s);
        return NULL;
    }
    log_info(NULL, "SIP listening on %s:%d (%s%s%s)", cfg->sip_address, cfg->sip_port,
             cfg->sip_udp ? "udp" : "", cfg->sip_udp && cfg->sip_tcp ? ", " : "",
             cfg->sip_tcp ? "tcp" : "");
    if (cfg->sip_tls_port)
        log_info(NULL, "SIP listening on %s:%d (tls)", cfg->sip_address, cfg->sip_tls_port);
    return s;
}

void sip_server_destroy(struct sip_server *s)
{
    if (!s)
        return;
    if (s->sweep)
        su_timer_destroy(s->sweep);
    keepalive_destroy(s->keepalive);
    session_timers_destroy(s->session_timers);
    failover_destroy(s->failover);
    /* Stopping while a quorate cluster can take the calls over: leave them to the successor
     * (records kept, no CDRs here) rather than cut them off. */
    int handing_over = 0;
    if (s->calls && s->nodes && s->cfg && strcmp(s->cfg->cluster_failover, "off") != 0 &&
        membership_quorate(s->nodes)) {
        const char *const *live;
        if (membership_live(s->nodes, &live) > 1) {
            handing_over = 1;
            log_info(NULL, "stopping: %d call(s) left to this node's successor",
                     calls_let_go(s->calls));
        }
    }
    service_address_destroy(s->addresses, handing_over);
    calls_recover_shutdown(); /* before the calls: an answer may not find a freed call */
    dialog_shutdown();
    calls_destroy(s->calls);
    dtmf_relay_destroy(s->dtmf);         /* after the calls: no media session can report any more */
    gateway_health_destroy(s->gateways); /* after the calls: their slots are in it */
    if (s->agent)
        nta_agent_destroy(s->agent);
    registrar_destroy(s->registrar);
    ratelimit_destroy(s->rl);
    free(s);
}

struct calls *sip_server_calls(struct sip_server *s)
{
    return s->calls;
}
