/* Outbound registration of a gateway by its owner node: REGISTER sip:host:port with To and From
 * sip:username@host and Contact sip:username@<this node's SIP address>, Expires register_expires;
 * a 401/407 is answered once with digest (digest_client.c); refreshed at 80 % of the expiry the
 * gateway granted, retried after a failure 5 s later, doubling to 5 min. One Call-ID per owner
 * with rising CSeq (RFC 3261 10.2.4). No un-REGISTER on shutdown or hand-over: the binding
 * lapses at the carrier by itself, and a new owner registers its own Contact at once. */
#include "sip/gateway_internal.h"

#include "common/clock.h"
#include "common/log.h"
#include "sip/digest_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>

#define REFRESH_AT 0.8
#define BACKOFF_MIN 5
#define BACKOFF_MAX 300

static void request_uri(const struct rt_gateway_conf *g, char *out, size_t len)
{
    snprintf(out, len, strchr(g->host, ':') ? "sip:[%s]:%d" : "sip:%s:%d", g->host, g->port);
}

static int on_registered(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, sip_t const *sip);

/* auth: our answer to the last challenge, or NULL. */
static void send_register(struct gw_entry *e, const char *auth)
{
    const struct rt_gateway_conf *g = &e->conf;
    const struct tandem_config *cfg = e->gh->cfg;
    struct gw_reg *r = &e->reg;
    char aor[420], extra[1800];
    snprintf(aor, sizeof aor, strchr(g->host, ':') ? "<sip:%s@[%s]>" : "<sip:%s@%s>", g->username,
             g->host);
    snprintf(extra, sizeof extra,
             strchr(cfg->sip_address, ':') ? "Contact: <sip:%s@[%s]:%d%s>\r\nExpires: %d\r\n%s"
                                           : "Contact: <sip:%s@%s:%d%s>\r\nExpires: %d\r\n%s",
             g->username, cfg->sip_address, cfg->sip_port,
             strcmp(g->transport, "tcp") == 0 ? ";transport=tcp" : "", g->reg_expires,
             auth ? auth : "");
    r->orq = gateway_send(e, SIP_METHOD_REGISTER, r->call_id, r->from_tag, ++r->cseq, aor, aor,
                          extra, on_registered, (nta_outgoing_magic_t *)e);
}

/* The expiry granted to our Contact: its expires parameter in the 2xx, else the Expires header,
 * else what we asked for. */
static int granted(const struct gw_entry *e, sip_t const *sip)
{
    const struct tandem_config *cfg = e->gh->cfg;
    for (sip_contact_t const *m = sip->sip_contact; m; m = m->m_next) {
        const url_t *u = m->m_url;
        char port[16];
        snprintf(port, sizeof port, "%d", cfg->sip_port);
        if (m->m_expires && u->url_host && u->url_user &&
            strcmp(u->url_user, e->conf.username) == 0 &&
            strcasecmp(u->url_host, cfg->sip_address) == 0 &&
            strcmp(u->url_port ? u->url_port : "5060", port) == 0)
            return atoi(m->m_expires);
    }
    if (sip->sip_expires)
        return (int)sip->sip_expires->ex_delta;
    return e->conf.reg_expires;
}

static void failed(struct gw_entry *e, int status, const char *why)
{
    struct gw_reg *r = &e->reg;
    r->backoff = r->backoff ? r->backoff * 2 : BACKOFF_MIN;
    if (r->backoff > BACKOFF_MAX)
        r->backoff = BACKOFF_MAX;
    r->next_at = clock_mono() + r->backoff;
    r->auth_tried = 0;
    log_warn(NULL, "gateway %s: registration failed (%d %s); retrying in %d s", e->conf.name,
             status, why, r->backoff);
    r->registered = 0;
    r->expires_at = 0;
    if (gateway_store_registration(e->gh->store, e->conf.id, 0, 0, status,
                                   gateway_state_ttl(&e->conf)) != 0)
        log_warn(NULL, "gateway %s: registration state not written (Redis unavailable)",
                 e->conf.name);
}

static int on_registered(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, sip_t const *sip)
{
    (void)orq;
    struct gw_entry *e = (struct gw_entry *)magic;
    struct gw_reg *r = &e->reg;
    int status = sip && sip->sip_status ? sip->sip_status->st_status : 408;
    if (status < 200)
        return 0;
    /* Everything needed from the response first: it goes with the transaction. */
    char auth[1600];
    int answer = -1, expires = 0;
    if ((status == 401 || status == 407) && !r->auth_tried && e->conf.username[0] &&
        e->conf.password[0]) {
        char uri[300];
        request_uri(&e->conf, uri, sizeof uri);
        answer = digest_client_answer(sip, e->conf.username, e->conf.password, "REGISTER", uri,
                                      auth, sizeof auth);
    } else if (status < 300) {
        expires = granted(e, sip);
    }
    const char *phrase = sip && sip->sip_status ? sip->sip_status->st_phrase : "no answer";
    char why[64];
    snprintf(why, sizeof why, "%s", phrase ? phrase : "");
    nta_outgoing_destroy(r->orq);
    r->orq = NULL;

    if (answer == 0) {
        r->auth_tried = 1;
        send_register(e, auth);
        if (!r->orq)
            failed(e, 503, "cannot send");
        return 0;
    }
    if (status >= 300) {
        failed(e, status, why);
        return 0;
    }
    if (expires <= 0)
        expires = e->conf.reg_expires;
    if (!r->registered)
        log_info(NULL, "gateway %s: registered as %s for %d s", e->conf.name, e->conf.username,
                 expires);
    r->registered = 1;
    r->auth_tried = 0;
    r->backoff = 0;
    r->expires_at = (long long)time(NULL) + expires;
    r->next_at = clock_mono() + REFRESH_AT * expires;
    if (gateway_store_registration(e->gh->store, e->conf.id, 1, r->expires_at, status,
                                   gateway_state_ttl(&e->conf)) != 0)
        log_warn(NULL, "gateway %s: registration state not written (Redis unavailable)",
                 e->conf.name);
    return 0;
}

void gateway_reg_tick(struct gw_entry *e, double now)
{
    struct gw_reg *r = &e->reg;
    if (r->orq || now < r->next_at)
        return;
    if (!r->call_id[0]) {
        char rnd[20];
        gateway_random(rnd, sizeof rnd);
        snprintf(r->call_id, sizeof r->call_id, "gwreg-%s", rnd);
        gateway_random(r->from_tag, sizeof r->from_tag);
    }
    r->auth_tried = 0;
    send_register(e, NULL);
    if (!r->orq)
        failed(e, 503, "cannot send");
}

void gateway_reg_stop(struct gw_entry *e)
{
    if (e->reg.orq) {
        nta_outgoing_destroy(e->reg.orq);
        e->reg.orq = NULL;
    }
}
