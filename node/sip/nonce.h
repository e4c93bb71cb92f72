/* Stateless digest nonces: a timestamp and random bits signed with the cluster's shared secret,
 * so any node can check a nonce another node issued. Replay is stopped in Redis (reg_store). */
#ifndef TANDEM_NONCE_H
#define TANDEM_NONCE_H

#include <time.h>

#define NONCE_LEN 41 /* 8 hex timestamp + 8 hex random + 24 hex MAC + NUL */

enum nonce_verdict { NONCE_OK, NONCE_STALE, NONCE_INVALID };

/* Returns 0, or -1 when no randomness could be had. */
int nonce_create(const char *secret, time_t now, char out[NONCE_LEN]);
enum nonce_verdict nonce_check(const char *secret, const char *nonce, time_t now, int lifetime);

#endif
