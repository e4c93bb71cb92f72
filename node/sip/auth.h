/* Digest authentication of SIP requests, shared by the registrar (401, Authorization) and call
 * control (407, Proxy-Authorization): finding the credentials for a realm, checking the nonce,
 * building the challenge and verifying the response against a stored HA1. */
#ifndef TANDEM_AUTH_H
#define TANDEM_AUTH_H

#include <stddef.h>

#include <sofia-sip/msg_types.h>
#include <sofia-sip/sip.h>

#include "common/config.h"
#include "common/node_status.h"
#include "sip/ratelimit.h"
#include "sip/sip_server.h"

struct auth_credentials {
    char username[128];
    char nonce[64], nc[16], cnonce[128], uri[512], response[64], qop[16];
};

enum auth_result {
    AUTH_NONE,      /* no Digest credentials for this realm: challenge */
    AUTH_MALFORMED, /* credentials we cannot use (missing fields, other qop or algorithm) */
    AUTH_STALE,     /* a nonce we issued, but too old: challenge with stale=TRUE */
    AUTH_FORGED,    /* a nonce we never issued */
    AUTH_PARSED,    /* usable: verify the response once the user's HA1 is known */
};

/* Looks through an Authorization or Proxy-Authorization list for the realm's credentials. */
enum auth_result auth_parse(msg_auth_t const *list, const char *realm, const char *secret,
                            int nonce_lifetime, struct auth_credentials *out);

/* The value of a WWW-Authenticate or Proxy-Authenticate header with a fresh nonce.
 * Returns 0, or -1 when no nonce could be made. */
int auth_challenge(const char *secret, const char *realm, int stale, char *out, size_t len);

/* 1 when the response matches HA1 for this method. */
int auth_verify(const struct auth_credentials *cr, const char *ha1, const char *method);

/* Logs a failed authentication on one line in the fixed shape monitoring/fail2ban matches,
 * counts it, and bans the source after too many (logging the ban). */
void auth_log_failure(struct ratelimit *rl, struct node_status *status,
                      const struct tandem_config *cfg, const struct sip_source *src,
                      const char *cid, const char *user, const char *domain, const char *reason);

#endif
