/* REGISTER, step by step as RFC 3261 10.3 orders it: credentials (401 with a fresh nonce),
 * the user from the cache or PostgreSQL, the expiry of each contact (423), then one atomic
 * Redis update that also refuses replayed nonces and out-of-order CSeqs, and the 200. */
#include "sip/registrar.h"

#include "common/clock.h"
#include "common/log.h"
#include "sip/auth.h"
#include "sip/digest.h"
#include "sip/reg_expiry.h"
#include "store/reg_store.h"
#include "store/user_store.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/su_tagarg.h>

#define MAX_REQUEST_CONTACTS 32
#define MAX_PATH 8

struct registrar {
    const struct tandem_config *cfg;
    struct node_status *status;
    struct user_store *users;
    struct reg_store *regs;
    struct ratelimit *rl;
};

/* One REGISTER in flight; the request (sip) lives as long as irq. */
struct reg_ctx {
    struct registrar *r;
    nta_incoming_t *irq;
    sip_t const *sip;
    struct sip_source src;
    const char *cid;
    char domain[256], user[128];
    struct auth_credentials cr;
};

struct registrar *registrar_create(const struct tandem_config *cfg, struct node_status *status,
                                   struct user_store *users, struct reg_store *regs,
                                   struct ratelimit *rl)
{
    struct registrar *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cfg = cfg;
    r->status = status;
    r->users = users;
    r->regs = regs;
    r->rl = rl;
    return r;
}

void registrar_destroy(struct registrar *r)
{
    free(r);
}

static void finish(struct reg_ctx *c, int status, const char *phrase, tag_type_t tag,
                   tag_value_t value, ...)
{
    ta_list ta;
    ta_start(ta, tag, value);
    nta_incoming_treply(c->irq, status, phrase, ta_tags(ta));
    ta_end(ta);
    nta_incoming_destroy(c->irq);
    free(c);
}

static void challenge(struct reg_ctx *c, int stale)
{
    char header[512];
    if (auth_challenge(c->r->cfg->auth_nonce_secret, c->domain, stale, header, sizeof header)) {
        finish(c, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
        return;
    }
    finish(c, SIP_401_UNAUTHORIZED, SIPTAG_WWW_AUTHENTICATE_STR(header), TAG_END());
}

static void auth_failed(struct reg_ctx *c, const char *user, const char *reason)
{
    auth_log_failure(c->r->rl, c->r->status, c->r->cfg, &c->src, c->cid, user, c->domain, reason);
}

static void lowercase(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* -------- step 4: the binding update and the 200 -------- */

static void append(char **buf, size_t *len, size_t *cap, const char *text)
{
    size_t tl = strlen(text);
    if (!*buf)
        return;
    if (*len + tl + 1 > *cap) {
        size_t ncap = (*cap + tl + 1) * 2;
        char *n = realloc(*buf, ncap);
        if (!n) {
            free(*buf);
            *buf = NULL;
            return;
        }
        *buf = n;
        *cap = ncap;
    }
    memcpy(*buf + *len, text, tl + 1);
    *len += tl;
}

static void on_stored(void *arg, enum reg_result result, json_t *bindings)
{
    struct reg_ctx *c = arg;
    switch (result) {
    case REG_OK:
        break;
    case REG_REPLAY:
        auth_failed(c, c->user, "replayed-nonce");
        challenge(c, 0);
        return;
    case REG_OUT_OF_ORDER:
        finish(c, 500, "Out Of Order CSeq", SIPTAG_RETRY_AFTER_STR("1"), TAG_END());
        return;
    case REG_TOO_MANY:
        finish(c, 503, "Too Many Registered Contacts", TAG_END());
        return;
    case REG_STORE_DOWN:
        log_warn(c->cid, "REGISTER %s@%s: registration store unavailable", c->user, c->domain);
        finish(c, 503, "Registration Store Unavailable", SIPTAG_RETRY_AFTER_STR("5"), TAG_END());
        return;
    }

    long now = (long)time(NULL);
    size_t len = 0, cap = 256;
    char *list = malloc(cap);
    if (list)
        list[0] = '\0';
    size_t i;
    json_t *b;
    json_array_foreach(bindings, i, b)
    {
        const char *uri = json_string_value(json_object_get(b, "contact"));
        json_int_t at = json_integer_value(json_object_get(b, "expires_at"));
        const char *q = json_string_value(json_object_get(b, "q"));
        if (!uri || at <= now)
            continue;
        char item[1200];
        snprintf(item, sizeof item, "%s<%s>;expires=%lld%s%s", len ? ", " : "", uri,
                 (long long)(at - now), q ? ";q=" : "", q ? q : "");
        append(&list, &len, &cap, item);
    }
    if (!list) {
        finish(c, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
        return;
    }
    atomic_fetch_add(&c->r->status->registers_ok, 1);
    log_info(c->cid, "registered %s@%s from %s/%s: %zu binding(s)", c->user, c->domain,
             c->src.received, c->src.transport, json_array_size(bindings));
    su_home_t home[1] = {SU_HOME_INIT(home)};
    sip_contact_t *contacts = len ? sip_contact_make(home, list) : NULL;
    free(list);
    finish(c, SIP_200_OK, TAG_IF(contacts, SIPTAG_CONTACT(contacts)),
           TAG_IF(c->sip->sip_path, SIPTAG_PATH(c->sip->sip_path)),
           SIPTAG_DATE(sip_date_create(home, sip_now())), TAG_END());
    su_home_deinit(home);
}

static void store_bindings(struct reg_ctx *c)
{
    sip_t const *sip = c->sip;
    struct registrar *r = c->r;
    const struct tandem_config *cfg = r->cfg;
    struct reg_expiry_limits lim = {cfg->registrar_min_expires, cfg->registrar_max_expires,
                                    cfg->registrar_default_expires};
    long header = sip->sip_expires ? (long)sip->sip_expires->ex_delta : -1;
    su_home_t home[1] = {SU_HOME_INIT(home)};
    struct reg_binding contacts[MAX_REQUEST_CONTACTS];
    const char *path[MAX_PATH];
    int n = 0, npath = 0, wildcard = 0;

    for (sip_contact_t const *m = sip->sip_contact; m; m = m->m_next) {
        if (m->m_url->url_type == url_any) {
            /* RFC 3261 10.2.2: "*" only alone and only with Expires: 0. */
            if (sip->sip_contact->m_next || header != 0) {
                su_home_deinit(home);
                finish(c, 400, "Wildcard Contact Requires Expires 0 And No Other Contact",
                       TAG_END());
                return;
            }
            wildcard = 1;
            break;
        }
        if (n == MAX_REQUEST_CONTACTS) {
            su_home_deinit(home);
            finish(c, 403, "Too Many Contacts In Request", TAG_END());
            return;
        }
        long param = -1;
        if (m->m_expires && (param = reg_expiry_parse(m->m_expires)) < 0) {
            su_home_deinit(home);
            finish(c, 400, "Bad Contact Expires", TAG_END());
            return;
        }
        long granted = reg_expiry_grant(param, header, &lim);
        if (granted == REG_EXPIRY_TOO_BRIEF) {
            char min[16];
            snprintf(min, sizeof min, "%d", cfg->registrar_min_expires);
            su_home_deinit(home);
            finish(c, SIP_423_INTERVAL_TOO_BRIEF, SIPTAG_MIN_EXPIRES_STR(min), TAG_END());
            return;
        }
        struct reg_binding *b = &contacts[n++];
        memset(b, 0, sizeof *b);
        b->contact = url_as_string(home, m->m_url);
        b->expires = granted;
        b->q = m->m_q;
        b->reg_id = -1;
        const char *inst = msg_params_find(m->m_params, "+sip.instance=");
        const char *regid = msg_params_find(m->m_params, "reg-id=");
        if (inst) {
            b->instance = msg_unquote_dup(home, inst);
            if (regid)
                b->reg_id = strtol(regid, NULL, 10);
            b->field = regid ? su_sprintf(home, "%s;reg-id=%s", b->instance, regid) : b->instance;
        } else {
            b->field = b->contact;
        }
        if (!b->contact || !b->field) {
            su_home_deinit(home);
            finish(c, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
            return;
        }
    }
    for (sip_path_t const *p = sip->sip_path; p && npath < MAX_PATH; p = p->r_next)
        path[npath++] = sip_header_as_string(home, (sip_header_t const *)p);

    struct reg_update u = {
        .domain = c->domain,
        .user = c->user,
        .nonce = c->cr.nonce,
        .nc = digest_parse_nc(c->cr.nc),
        .nonce_ttl = cfg->auth_nonce_lifetime + 10,
        .call_id = sip->sip_call_id->i_id,
        .cseq = sip->sip_cseq->cs_seq,
        .wildcard = wildcard,
        .max_contacts = cfg->registrar_max_contacts,
        .keepalive_interval = cfg->nat_keepalive_interval,
        .received = c->src.received,
        .transport = c->src.transport,
        .socket = c->src.socket,
        .node = cfg->node_id,
        .user_agent = sip->sip_user_agent ? sip->sip_user_agent->g_string : NULL,
        .path = path,
        .npath = npath,
        .contacts = contacts,
        .ncontacts = n,
    };
    int rc = reg_store_update(r->regs, &u, on_stored, c);
    su_home_deinit(home);
    if (rc != 0)
        on_stored(c, REG_STORE_DOWN, NULL);
}

/* -------- step 3: the user and the digest -------- */

static void on_user(void *arg, const struct user_info *u)
{
    struct reg_ctx *c = arg;
    if (!u) {
        log_warn(c->cid, "REGISTER %s@%s: cannot check credentials, database unavailable", c->user,
                 c->domain);
        finish(c, 503, "Directory Unavailable", SIPTAG_RETRY_AFTER_STR("5"), TAG_END());
        return;
    }
    if (!u->found) {
        auth_failed(c, c->user, "unknown-user");
        challenge(c, 0);
        return;
    }
    if (!auth_verify(&c->cr, u->ha1, "REGISTER")) {
        auth_failed(c, c->user, "wrong-password");
        challenge(c, 0);
        return;
    }
    if (!u->enabled) {
        auth_failed(c, c->user, "disabled");
        finish(c, SIP_403_FORBIDDEN, TAG_END());
        return;
    }
    store_bindings(c);
}

/* -------- steps 1 and 2: the request and its credentials -------- */

void registrar_handle(struct registrar *r, nta_incoming_t *irq, sip_t const *sip,
                      const struct sip_source *src)
{
    struct reg_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        nta_incoming_treply(irq, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
        nta_incoming_destroy(irq);
        return;
    }
    c->r = r;
    c->irq = irq;
    c->sip = sip;
    c->src = *src;
    c->cid = sip->sip_call_id ? sip->sip_call_id->i_id : NULL;

    if (!sip->sip_to || !sip->sip_call_id || !sip->sip_cseq || !sip->sip_to->a_url->url_host) {
        finish(c, 400, "Missing Mandatory Header", TAG_END());
        return;
    }
    const url_t *to = sip->sip_to->a_url;
    if (!to->url_user || !*to->url_user || strlen(to->url_user) >= sizeof c->user ||
        strlen(to->url_host) >= sizeof c->domain || strchr(to->url_host, '"')) {
        finish(c, 400, "Bad To Address", TAG_END());
        return;
    }
    snprintf(c->user, sizeof c->user, "%s", to->url_user);
    snprintf(c->domain, sizeof c->domain, "%s", to->url_host);
    lowercase(c->domain);

    const char *who = c->user;
    switch (auth_parse(sip->sip_authorization, c->domain, r->cfg->auth_nonce_secret,
                       r->cfg->auth_nonce_lifetime, &c->cr)) {
    case AUTH_NONE:
        challenge(c, 0);
        return;
    case AUTH_MALFORMED:
        auth_failed(c, c->cr.username[0] ? c->cr.username : who, "malformed-credentials");
        challenge(c, 0);
        return;
    case AUTH_STALE:
        challenge(c, 1); /* the password was right or wrong, we cannot tell: just renew */
        return;
    case AUTH_FORGED:
        auth_failed(c, c->cr.username, "forged-nonce");
        challenge(c, 0);
        return;
    case AUTH_PARSED:
        break;
    }
    if (strcmp(c->cr.username, c->user) != 0) {
        auth_failed(c, c->cr.username, "username-mismatch");
        finish(c, SIP_403_FORBIDDEN, TAG_END());
        return;
    }
    user_store_lookup(r->users, c->domain, c->user, on_user, c);
}
