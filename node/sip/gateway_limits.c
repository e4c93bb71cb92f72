/* Call slots on limited gateways. A slot is a member of tandem:gwcalls:<id> whose score is a
 * lease expiry: this node renews the leases of the slots its calls hold every lease / 3
 * (calls.slot_lease, 90 s by default), so the slots of a crashed node stop counting within one
 * lease (DESIGN 3.3), at the price of one ZADD per held slot per lease / 3. The successor that
 * recovers a crashed node's calls takes their slots over (gateway_limits_adopt) before they lapse.
 * A call holds at most one slot at a time (its attempts are sequential); it is given back when the
 * attempt fails or when the call's plan is freed. Tenant slots (tandem:tcalllim:<tenant id>) work
 * the same way, one per call for its whole life, remembered in gh->tslots and given back when the
 * call's memory goes (b2bua_abandon). */
#include "sip/gateway_internal.h"

#include "common/log.h"
#include "common/strmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The lease of a slot, in ms. */
static int lease_ms(const struct gateway_health *gh)
{
    return gh->cfg->calls_slot_lease * 1000;
}

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
    if (gateway_store_acquire(gh->store, g->id, uuid, g->max_calls, g->max_cps, lease_ms(gh),
                              on_taken, t) != 0) {
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
    if (tenant_store_acquire(gh->store, tenant_id, uuid, max_calls, max_cps, lease_ms(gh), on_taken,
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

void gateway_limits_held(const struct gateway_health *gh, const char *uuid, char *gw_id,
                         size_t gw_len, char *tenant_id, size_t tenant_len)
{
    const char *gw = gh ? strmap_get(gh->slots, uuid) : NULL;
    const char *tenant = gh ? strmap_get(gh->tslots, uuid) : NULL;
    snprintf(gw_id, gw_len, "%s", gw ? gw : "");
    snprintf(tenant_id, tenant_len, "%s", tenant ? tenant : "");
}

/* Remembers slot uuid on id as this node's and holds it at once: its lease ran since the dead
 * node's last renewal and may have lapsed while the failure was being noticed, but the call is
 * up, so it counts again (even if another call took the slot meanwhile: both are real). */
static void adopt(struct gateway_health *gh, int tenant, const char *id, const char *uuid)
{
    struct strmap *held = tenant ? gh->tslots : gh->slots;
    char *copy = strdup(id);
    void *old = NULL;
    if (!copy || strmap_put(held, uuid, copy, &old) != 0) {
        free(copy);
        log_warn(NULL, "call %s: slot on %s not taken over (out of memory); its lease ends it",
                 uuid, id);
        return;
    }
    free(old);
    if (tenant)
        tenant_store_hold(gh->store, id, uuid, lease_ms(gh));
    else
        gateway_store_hold(gh->store, id, uuid, lease_ms(gh));
}

void gateway_limits_adopt(struct gateway_health *gh, const char *uuid, const char *gw_id,
                          const char *tenant_id)
{
    if (!gh)
        return;
    if (gw_id && gw_id[0])
        adopt(gh, 0, gw_id, uuid);
    if (tenant_id && tenant_id[0])
        adopt(gh, 1, tenant_id, uuid);
}

static int renew(const char *uuid, void *value, void *arg)
{
    struct gateway_health *gh = arg;
    gateway_store_renew(gh->store, value, uuid, lease_ms(gh));
    return 0;
}

static int renew_tenant(const char *uuid, void *value, void *arg)
{
    struct gateway_health *gh = arg;
    tenant_store_renew(gh->store, value, uuid, lease_ms(gh));
    return 0;
}

void gateway_limits_tick(struct gateway_health *gh, double now)
{
    if (now - gh->renewed_at < lease_ms(gh) / 3000.0)
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
