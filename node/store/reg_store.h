/* Registration bindings in Redis (layout in schema/redis.md): one atomic script call per
 * REGISTER that checks nonce replay and CSeq order, applies the contacts and returns the rest. */
#ifndef TANDEM_REG_STORE_H
#define TANDEM_REG_STORE_H

#include <jansson.h>

#include "store/redis_conn.h"

struct reg_store;

struct reg_binding {
    const char *field;   /* identity of the binding: instance(+reg-id) or contact URI */
    const char *contact; /* URI as sent */
    long expires;        /* granted seconds; 0 removes the binding */
    const char *q;       /* NULL when absent */
    const char *instance;
    long reg_id; /* -1 when absent */
};

struct reg_update {
    const char *domain, *user;
    const char *nonce; /* NULL: no replay check */
    long nc;
    int nonce_ttl;
    const char *call_id;
    unsigned long cseq;
    int wildcard; /* Contact: * with Expires: 0 */
    int max_contacts;
    int keepalive_interval; /* seconds until the first keepalive; 0: never pinged */
    /* Shared by every contact of the request. */
    const char *received, *transport, *socket, *node, *user_agent;
    const char *const *path;
    int npath;
    const struct reg_binding *contacts;
    int ncontacts;
};

enum reg_result { REG_OK, REG_REPLAY, REG_OUT_OF_ORDER, REG_TOO_MANY, REG_STORE_DOWN };

/* bindings is a JSON array of the AoR's live bindings (REG_OK only, else NULL); borrowed. */
typedef void reg_update_f(void *arg, enum reg_result result, json_t *bindings);

struct reg_store *reg_store_create(struct redis_conn *redis);
void reg_store_destroy(struct reg_store *rs);

/* Returns 0 when the update was sent (cb called once), -1 when Redis is unavailable. */
int reg_store_update(struct reg_store *rs, const struct reg_update *u, reg_update_f *cb, void *arg);

/* The live bindings of user@domain (a JSON array, borrowed; empty when none), or NULL when
 * Redis could not be asked. */
typedef void reg_lookup_f(void *arg, json_t *bindings);

/* Returns 0 when sent (cb called once), -1 when Redis is unavailable. */
int reg_store_lookup(struct reg_store *rs, const char *domain, const char *user, reg_lookup_f *cb,
                     void *arg);

#endif
