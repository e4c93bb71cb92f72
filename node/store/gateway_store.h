/* Gateway state shared by the cluster in Redis (keys in schema/redis.md): each gateway's health
 * and registration (tandem:gw:<id>, written by its owner node, read by all), and its call
 * limits (tandem:gwcalls:<id>, tandem:gwcps:<id>, one atomic script per set-up attempt). */
#ifndef TANDEM_GATEWAY_STORE_H
#define TANDEM_GATEWAY_STORE_H

#include "store/redis_conn.h"

struct gateway_store;

struct gateway_store *gateway_store_create(struct redis_conn *redis);
void gateway_store_destroy(struct gateway_store *gs);

/* After one ping: up is 1 or 0, or -1 while unknown (no answer yet, not yet down) or when Redis
 * could not be asked; changed is 1 when this ping flipped it. */
typedef void gateway_ping_f(void *arg, int up, int changed);
/* Records a ping by node; down after down_after consecutive failures. -1: not sent (cb not
 * called). */
int gateway_store_ping(struct gateway_store *gs, const char *id, const char *node, int answered,
                       int status, int down_after, int ttl, gateway_ping_f *cb, void *arg);

/* Records the outbound registration: registered 1/0, until expires_at (unix s), last status. */
int gateway_store_registration(struct gateway_store *gs, const char *id, int registered,
                               long long expires_at, int status, int ttl);

/* up: 1, 0, or -1 when unknown (never pinged, pinging off) or Redis could not be asked. */
typedef void gateway_up_f(void *arg, int up);
int gateway_store_read_up(struct gateway_store *gs, const char *id, gateway_up_f *cb, void *arg);

enum gateway_slot {
    GATEWAY_SLOT_TAKEN = 1,
    GATEWAY_SLOT_FULL = 0,     /* max_calls reached */
    GATEWAY_SLOT_RATE = -1,    /* max_cps reached */
    GATEWAY_SLOT_UNKNOWN = -2, /* Redis could not be asked */
};
typedef void gateway_slot_f(void *arg, enum gateway_slot result);
/* One call slot on gateway id for call uuid, held lease_ms unless renewed. max_calls 0 and
 * max_cps "" mean no such limit. -1: not sent (cb not called). */
int gateway_store_acquire(struct gateway_store *gs, const char *id, const char *uuid, int max_calls,
                          const char *max_cps, int lease_ms, gateway_slot_f *cb, void *arg);
/* Gives the slot back (fire and forget). */
int gateway_store_release(struct gateway_store *gs, const char *id, const char *uuid);
/* Extends a held slot's lease (fire and forget; a slot already expired is not re-added). */
int gateway_store_renew(struct gateway_store *gs, const char *id, const char *uuid, int lease_ms);
/* Holds the slot for lease_ms from now, re-adding it when its lease ran out (fire and forget):
 * a call recovered from a dead node is up, so it counts, even beyond max_calls. */
int gateway_store_hold(struct gateway_store *gs, const char *id, const char *uuid, int lease_ms);

/* The same for a tenant's limits (tandem:tcalllim:<tenant id>, tandem:tcps:<tenant id>). */
int tenant_store_acquire(struct gateway_store *gs, const char *tenant_id, const char *uuid,
                         int max_calls, const char *max_cps, int lease_ms, gateway_slot_f *cb,
                         void *arg);
int tenant_store_release(struct gateway_store *gs, const char *tenant_id, const char *uuid);
int tenant_store_renew(struct gateway_store *gs, const char *tenant_id, const char *uuid,
                       int lease_ms);
int tenant_store_hold(struct gateway_store *gs, const char *tenant_id, const char *uuid,
                      int lease_ms);

#endif
