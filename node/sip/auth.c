/* Only qop=auth with MD5 is offered and accepted: every current UA supports it, and RFC 2069
 * responses (no qop) cannot be protected against replay by nonce-count. */
#include "sip/auth.h"

#include "common/clock.h"
#include "common/log.h"
#include "sip/digest.h"
#include "sip/nonce.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sofia-sip/msg_header.h>

/* Copies an auth parameter's value, unquoted, into dst; 0 when found and it fits. */
static int param(msg_auth_t const *au, const char *name, char *dst, size_t len)
{
    char key[32];
    snprintf(key, sizeof key, "%s=", name);
    const char *v = msg_params_find(au->au_params, key);
    if (!v)
        return -1;
    size_t vl = strlen(v);
    if (vl + 1 > len)
        return -1;
    if (vl >= 2 && v[0] == '"') {
        if (!msg_unquote(dst, v))
            return -1;
    } else {
        memcpy(dst, v, vl + 1);
    }
    return 0;
}

enum auth_result auth_parse(msg_auth_t const *list, const char *realm, const char *secret,
                            int nonce_lifetime, struct auth_credentials *out)
{
    memset(out, 0, sizeof *out);
    msg_auth_t const *au;
    char r[256];
    for (au = list; au; au = au->au_next)
        if (au->au_scheme && !strcasecmp(au->au_scheme, "Digest") &&
            param(au, "realm", r, sizeof r) == 0 && !strcasecmp(r, realm))
            break;
    if (!au)
        return AUTH_NONE;
    char algorithm[32] = "MD5";
    param(au, "algorithm", algorithm, sizeof algorithm);
    if (param(au, "username", out->username, sizeof out->username) || !out->username[0] ||
        param(au, "nonce", out->nonce, sizeof out->nonce) ||
        param(au, "uri", out->uri, sizeof out->uri) ||
        param(au, "response", out->response, sizeof out->response) ||
        param(au, "qop", out->qop, sizeof out->qop) || strcmp(out->qop, "auth") ||
        param(au, "nc", out->nc, sizeof out->nc) || digest_parse_nc(out->nc) < 0 ||
        param(au, "cnonce", out->cnonce, sizeof out->cnonce) || strcasecmp(algorithm, "MD5"))
        return AUTH_MALFORMED;
    switch (nonce_check(secret, out->nonce, time(NULL), nonce_lifetime)) {
    case NONCE_OK:
        return AUTH_PARSED;
    case NONCE_STALE:
        return AUTH_STALE;
    case NONCE_INVALID:
        break;
    }
    return AUTH_FORGED;
}

int auth_challenge(const char *secret, const char *realm, int stale, char *out, size_t len)
{
    char nonce[NONCE_LEN];
    if (nonce_create(secret, time(NULL), nonce) != 0)
        return -1;
    snprintf(out, len, "Digest realm=\"%s\", nonce=\"%s\", qop=\"auth\", algorithm=MD5%s", realm,
             nonce, stale ? ", stale=TRUE" : "");
    return 0;
}

int auth_verify(const struct auth_credentials *cr, const char *ha1, const char *method)
{
    char expected[DIGEST_HEX_LEN];
    digest_response(ha1, cr->nonce, cr->nc, cr->cnonce, cr->qop, method, cr->uri, expected);
    return digest_equal(expected, cr->response);
}

void auth_log_failure(struct ratelimit *rl, struct node_status *status,
                      const struct tandem_config *cfg, const struct sip_source *src,
                      const char *cid, const char *user, const char *domain, const char *reason)
{
    atomic_fetch_add(&status->auth_failures, 1);
    char clean_user[128], clean_domain[256];
    log_clean(user, clean_user, sizeof clean_user);
    log_clean(domain, clean_domain, sizeof clean_domain);
    log_warn(cid, "auth failure: src=%s port=%d user=%s domain=%s reason=%s", src->ip, src->port,
             clean_user, clean_domain, reason);
    if (ratelimit_auth_failure(rl, src->ip, clock_mono()))
        log_warn(cid, "banning src=%s for %d s after %d authentication failures", src->ip,
                 cfg->security_ban_seconds, cfg->security_ban_failures);
}
