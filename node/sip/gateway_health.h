/* Gateways (ITSP trunks) as the whole cluster sees them. Every node loads every enabled gateway;
 * each is the duty of exactly one live node, the rendezvous owner of "gateway/<id>", which pings
 * it with OPTIONS every ping_interval and REGISTERs to it when asked, keeping its state in Redis
 * (tandem:gw:<id>). Every node reads that state once a second, so outbound routing can skip a
 * gateway that is down without a Redis round trip per call; and every node takes a call slot
 * (max_calls, max_cps, shared in Redis) before each attempt on a limited gateway. */
#ifndef TANDEM_GATEWAY_HEALTH_H
#define TANDEM_GATEWAY_HEALTH_H

#include <sofia-sip/nta.h>

#include <stddef.h>

#include "common/config.h"
#include "store/gateway_store.h"
#include "store/routing_store.h"

struct membership;
struct gateway_health;

struct gateway_health *gateway_health_create(su_root_t *root, nta_agent_t *agent,
                                             const struct tandem_config *cfg,
                                             struct routing_store *routing,
                                             struct gateway_store *store, struct membership *nodes);
/* Must not touch Redis (it is gone by then at shutdown): only SIP and memory. */
void gateway_health_destroy(struct gateway_health *gh);

/* 1 when the gateway was down at the last read of its state (at most about a second old); 0 when
 * up, unknown (never pinged, pinging off) or not loaded. gh may be NULL. */
int gateway_health_down(const struct gateway_health *gh, const char *id);

/* gateway_limits.c: one call slot on g for call uuid, before an attempt on g (not for emergency
 * routes, nor for gateways without limits). cb gets GATEWAY_SLOT_TAKEN (the slot is held until
 * gateway_limits_release), _FULL or _RATE (skip the gateway), or _UNKNOWN (Redis unavailable:
 * the attempt goes ahead, unlimited). Returns -1 when not sent (cb not called). */
int gateway_limits_take(struct gateway_health *gh, const struct rt_gateway *g, const char *uuid,
                        gateway_slot_f *cb, void *arg);
/* Gives back the slot the call holds, if any: its attempt failed, or the call ended. */
void gateway_limits_release(struct gateway_health *gh, const char *uuid);

/* The same for the tenant's limits: one slot per call, held from set-up (once the route is known,
 * not for emergency routes) until tenant_limits_release when the call's memory goes. */
int tenant_limits_take(struct gateway_health *gh, const char *tenant_id, int max_calls,
                       const char *max_cps, const char *uuid, gateway_slot_f *cb, void *arg);
void tenant_limits_release(struct gateway_health *gh, const char *uuid);

/* The ids of the gateway and tenant whose slots call uuid holds here ("" for none), for its
 * record. gh may be NULL. */
void gateway_limits_held(const struct gateway_health *gh, const char *uuid, char *gw_id,
                         size_t gw_len, char *tenant_id, size_t tenant_len);
/* A call recovered from a dead node (call_recover.c): its slots (ids from its record, "" for
 * none) become this node's to renew, and are given back by gateway_limits_release and
 * tenant_limits_release when the call ends. gh may be NULL. */
void gateway_limits_adopt(struct gateway_health *gh, const char *uuid, const char *gw_id,
                          const char *tenant_id);

#endif
