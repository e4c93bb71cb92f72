/* Call slots on limited gateways. A slot is a member of tandem:gwcalls:<id> whose score is a
 * lease expiry: this node renews the leases of the slots its calls hold every LEASE_MS / 3, so
 * the slots of a crashed node stop counting within LEASE_MS (DESIGN 3.3), at the price of one
 * ZADD per held slot per 30 s. A call holds at most one slot at a time (its attempts are
 * sequential); it is given back when the attempt fails or when the call's plan is freed.
 * Tenant slots (tandem:tcalllim:<tenant id>) work the same way, one per call for its whole life,
 * remembered in gh->tslots and given back when the call's memory goes (b2bua_abandon). */
#include "sip/gateway_internal.h"

#include "common/log.h"
#include "common/strmap.h"

#include <stdlib.h>
#include <string.h>

#define LEASE_MS 90000

struct take {
    struct gateway_health *gh;
    int tenant; /* a tenant slot, not a gateway one */
    char uuid[40], id[40];
    gateway_slot_f *cb;
    void *arg;
};

static void store_release(struct gateway_health *gh, int tenant, const char *id, const char *uuid)
{
    if (tenant)
        tenant_store_release(gh->store, id, uuid);
    else
        gateway_store_release(gh->store, id, uuid);
}

static void on_taken(void *arg, enum gateway_slot result)
{
    struct take *t = arg;
    if (result == GATEWAY_SLOT_TAKEN) {
        struct strmap *held = t->tenant ? t->gh->tslots : t->gh->slots;
        char *id = strdup(t->id);
        void *old = NULL;
        if (!id || strmap_put(held, t->uuid, id, &old) != 0) {
            /* cannot remember it: give it back rather than leak it until the lease ends */
            free(id);
            store_release(t->gh, t->tenant, t->id, t->uuid);
        } else if (old) {
            if (strcmp(old, id) != 0)
                store_release(t->gh, t->tenant, old, t->uuid);
            free(old);
        }
    }
    t->cb(t->arg, result);
    free(t);
}

int gateway_limits_take(struct gateway_health *gh, const struct rt_gateway *g, const char *uuid,
                        gateway_slot_f *cb, void *arg)
{
    struct take *t = gh ? calloc(1, sizeof *t) : NULL;
    if (!t)
        return -1;
    t->gh = gh;
    snprintf(t->uuid, sizeof t->uuid, "%s", uuid);
    snprintf(t->id, sizeof t->id, "%s", g->id);
    t->cb = cb;
    t->arg = arg;
    if (gateway_store_acquire(gh->store, g->id, uuid, g->max_calls, g->max_cps, LEASE_MS, on_taken,
                              t) != 0) {
        free(t);
        return -1;
    }
    return 0;
}

int tenant_limits_take(struct gateway_health *gh, const char *tenant_id, int max_calls,
                       const char *max_cps, const char *uuid, gateway_slot_f *cb, void *arg)
{
    struct take *t = gh ? calloc(1, sizeof *t) : NULL;
    if (!t)
        return -1;
    t->gh = gh;
    t->tenant = 1;
    snprintf(t->uuid, sizeof t->uuid, "%s", uuid);
    snprintf(t->id, sizeof t->id, "%s", tenant_id);
    t->cb = cb;
    t->arg = arg;
    if (tenant_store_acquire(gh->store, tenant_id, uuid, max_calls, max_cps, LEASE_MS, on_taken,
                             t) != 0) {
        free(t);
        return -1;
    }
    return 0;
}

void tenant_limits_release(struct gateway_health *gh, const char *uuid)
{
    char *id = gh ? strmap_remove(gh->tslots, uuid) : NULL;
    if (!id)
        return;
    if (tenant_store_release(gh->store, id, uuid) != 0)
        log_warn(NULL, "call %s: tenant slot not released (Redis unavailable); its lease ends it",
                 uuid);
    free(id);
}

void gateway_limits_release(struct gateway_health *gh, const char *uuid)
{
    char *id = gh ? strmap_remove(gh->slots, uuid) : NULL;
    if (!id)
        return;
    if (gateway_store_release(gh->store, id, uuid) != 0)
        log_warn(NULL,
                 "call %s: gateway slot not released (Redis unavailable); its lease ends "
                 "it",
                 uuid);
    free(id);
}

static int renew(const char *uuid, void *value, void *arg)
{
    struct gateway_health *gh = arg;
    gateway_store_renew(gh->store, value, uuid, LEASE_MS);
    return 0;
}

static int renew_tenant(const char *uuid, void *value, void *arg)
{
    struct gateway_health *gh = arg;
    tenant_store_renew(gh->store, value, uuid, LEASE_MS);
    return 0;
}

void gateway_limits_tick(struct gateway_health *gh, double now)
{
    if (now - gh->renewed_at < LEASE_MS / 3000.0)
        return;
    gh->renewed_at = now;
    strmap_sweep(gh->slots, renew, gh);
    strmap_sweep(gh->tslots, renew_tenant, gh);
}

static int forget(const char *uuid, void *value, void *arg)
{
    (void)uuid;
    (void)arg;
    free(value); /* not released: Redis is gone at shutdown; the leases end the slots */
    return 1;
}

void gateway_limits_clear(struct gateway_health *gh)
{
    if (gh->slots)
        strmap_sweep(gh->slots, forget, NULL);
    if (gh->tslots)
        strmap_sweep(gh->tslots, forget, NULL);
}
