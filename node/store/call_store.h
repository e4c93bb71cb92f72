/* Call records in Redis: everything needed to continue a call's two dialogs from any node
 * (DESIGN 3.1), one JSON document per call, indexed by the Call-ID of each leg. */
#ifndef TANDEM_CALL_STORE_H
#define TANDEM_CALL_STORE_H

#include <jansson.h>

#include "store/redis_conn.h"

struct call_store;

struct call_store *call_store_create(struct redis_conn *redis);
void call_store_destroy(struct call_store *cs);

/* How long a call's record outlives its last write (a day): long enough for any failover to
 * find it, short enough that records nobody ends do not pile up in Redis. */
#define CALL_RECORD_TTL_S (24 * 3600)

/* Writes the record, both Call-ID indexes and the tenant's set of live calls (the record's
 * "tenant_id") in one pipeline, expiring after ttl seconds (refreshed on every write).
 * Fire and forget: -1 when Redis is unavailable. */
int call_store_save(struct call_store *cs, const char *uuid, const char *call_id_a,
                    const char *call_id_b, json_t *record, int ttl);

/* record is the call (borrowed), or NULL when unknown; store_down is 1 when Redis could not
 * be asked. */
typedef void call_find_f(void *arg, json_t *record, int store_down);

/* Returns 0 when sent (cb called once), -1 when Redis is unavailable. */
int call_store_find(struct call_store *cs, const char *call_id, call_find_f *cb, void *arg);

/* node: the record's node (removed from that node's set of calls). */
int call_store_delete(struct call_store *cs, const char *uuid, const char *call_id_a,
                      const char *call_id_b, const char *tenant_id, const char *node);

/* outcome 1: the claim is ours and records (borrowed; an array of call records) are the dead
 * node's calls, now in self's set; 0: another node holds a claim with an equal or higher token;
 * 2: another node took it over before and nothing is left; 3: the claim is self's already and
 * nothing new is left; -1: Redis could not be asked. */
typedef void call_claim_f(void *arg, int outcome, json_t *records);
/* Claims a dead node's calls with a fencing token (call_claim.lua). 0 when sent (cb called
 * once), -1 when Redis is unavailable. */
int call_store_claim(struct call_store *cs, const char *dead, const char *self,
                     unsigned long long token, long long now_ms, call_claim_f *cb, void *arg);

/* For the owner node's periodic check of a call it holds media for: whether the record still
 * exists (another node may have ended the call) and whether the API asked for a hang-up. */
typedef void call_check_f(void *arg, int exists, int hangup, int store_down);
int call_store_check(struct call_store *cs, const char *uuid, call_check_f *cb, void *arg);

/* Who holds a claim on node's calls and address, and since when (unix ms): holder NULL when
 * nobody does; store_down 1 when Redis could not be asked. */
typedef void call_holder_f(void *arg, const char *holder, long long at_ms, int store_down);
int call_store_claim_holder(struct call_store *cs, const char *node, call_holder_f *cb, void *arg);
/* Ends self's claim on dead (call_release.lua), fire and forget. */
int call_store_claim_release(struct call_store *cs, const char *dead, const char *self);

/* Session timers (RFC 4028): the calls whose session `node` ends when unrefreshed, by the
 * Call-ID of their A leg, in tandem:stexp:<node> scored with the deadline (unix ms). Any node
 * that passes a refresh on moves the deadline; the owner takes what is due. Fire and forget. */
int call_store_expiry_set(struct call_store *cs, const char *node, const char *call_id,
                          long long deadline_ms);

/* ids[0..n) are the Call-IDs that were due at now_ms, already removed from the set (so two
 * sweeps never take one twice); n 0 when none or when Redis could not be asked. */
typedef void call_due_f(void *arg, const char *const *ids, size_t n);
/* At most max of them; 0 when sent (cb called once), -1 when Redis is unavailable. */
int call_store_expiry_due(struct call_store *cs, const char *node, long long now_ms, int max,
                          call_due_f *cb, void *arg);

#endif
