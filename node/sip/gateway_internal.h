/* What gateway_health.c (loading, ownership, OPTIONS, state cache), gateway_register.c
 * (outbound REGISTER) and gateway_limits.c (call slots) share. Internal to node/sip. */
#ifndef TANDEM_GATEWAY_INTERNAL_H
#define TANDEM_GATEWAY_INTERNAL_H

#include <stdint.h>

#include "sip/gateway_health.h"

/* The owner's outbound registration of one gateway. */
struct gw_reg {
    nta_outgoing_t *orq;
    char call_id[48], from_tag[24];
    uint32_t cseq;
    int auth_tried; /* this REGISTER already carries our answer to a challenge */
    double next_at; /* clock_mono() of the next REGISTER */
    int backoff;    /* seconds before the next try after a failure */
    int registered;
    long long expires_at; /* unix s */
};

struct gw_entry {
    struct gateway_health *gh;
    struct rt_gateway_conf conf;
    int seen;    /* in the last list loaded */
    int owned;   /* this node pings and registers it */
    int up;      /* last read from Redis: 1, 0, -1 unknown */
    int reading; /* a read of its state is in flight */
    nta_outgoing_t *ping;
    double ping_sent, next_ping;
    struct gw_reg reg;
};

struct gateway_health {
    su_root_t *root;
    nta_agent_t *agent;
    const struct tandem_config *cfg;
    struct routing_store *routing;
    struct gateway_store *store;
    struct membership *nodes;
    su_timer_t *tick;
    struct strmap *gateways; /* id -> struct gw_entry */
    int loading, dirty;
    double loaded_at;
    struct strmap *slots;  /* call uuid -> gateway id (malloc'ed): slots this node's calls hold */
    struct strmap *tslots; /* call uuid -> tenant id (malloc'ed): the same for tenant slots */
    double renewed_at;
};

/* Seconds the state hash outlives its last write: two periods of pinging or registering. */
int gateway_state_ttl(const struct rt_gateway_conf *g);

/* 16 random hex digits (tags, Call-IDs). */
void gateway_random(char *out, size_t len);

/* Sends an out-of-dialog request to the gateway (request URI sip:host:port, To the same unless
 * to is given); extra is "Name: value\r\n" lines or NULL. NULL when it could not be sent. */
nta_outgoing_t *gateway_send(struct gw_entry *e, sip_method_t method, const char *name,
                             const char *call_id, const char *from_tag, uint32_t cseq,
                             const char *from, const char *to, const char *extra,
                             nta_response_f *cb, nta_outgoing_magic_t *magic);

/* gateway_register.c, for owned gateways with register on: */
void gateway_reg_tick(struct gw_entry *e, double now);
/* Stops registering (ownership lost, gateway gone or changed): the binding lapses at the
 * carrier by itself. */
void gateway_reg_stop(struct gw_entry *e);

/* gateway_limits.c: renews the leases of the slots held, every LEASE/3. */
void gateway_limits_tick(struct gateway_health *gh, double now);
void gateway_limits_clear(struct gateway_health *gh);

#endif
