/* Asks Redis Sentinels, in turn and without blocking the signalling loop, where the master of
 * redis.master_name is (SENTINEL get-master-addr-by-name). Used by redis_conn on every connect. */
#ifndef TANDEM_REDIS_SENTINEL_H
#define TANDEM_REDIS_SENTINEL_H

#include "common/config.h"

#include <sofia-sip/su_wait.h>

struct redis_sentinel;

/* host is NULL when no sentinel named a master (all unreachable, silent or unaware of it). */
typedef void redis_sentinel_found_f(void *arg, const char *host, int port);

struct redis_sentinel_options {
    const struct config_hostport *sentinels; /* copied */
    int nsentinels;
    const char *master_name;
    const char *password; /* NULL or "" for none */
    int timeout_ms;       /* per sentinel: connect and answer */
};

struct redis_sentinel *redis_sentinel_create(su_root_t *root,
                                             const struct redis_sentinel_options *opt);
/* Cancels a question in flight (its callback is not called). */
void redis_sentinel_destroy(struct redis_sentinel *s);

/* Starts a round: the sentinel that answered last is asked first, then the others until one
 * names a master. found is called exactly once, from the loop, never from inside this call.
 * -1 when a round is already running or out of memory (found is not called). */
int redis_sentinel_ask(struct redis_sentinel *s, redis_sentinel_found_f *found, void *arg);

#endif
