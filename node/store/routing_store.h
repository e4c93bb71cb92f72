/* The tenants' routing from PostgreSQL for the signalling loop (queries: docs/routing.md):
 * outbound route tables cached per domain and dropped on NOTIFY tandem_routing, DID lookups,
 * and which gateway an INVITE's source address belongs to. All asynchronous. */
#ifndef TANDEM_ROUTING_STORE_H
#define TANDEM_ROUTING_STORE_H

#include <regex.h>

#include "store/pg_conn.h"

#define RT_MAX_FAILOVER 16
#define RT_MAX_GATEWAYS 16

struct rt_gateway {
    char id[40], name[65], host[254];
    int port;
    char transport[4];
    char username[129], password[129];
    int originate_ms, progress_ms, answer_ms;
    int failover[RT_MAX_FAILOVER];
    int nfailover;
    char caller_id_mode[8]; /* pai, rpid, none */
    int max_calls;          /* concurrent calls; 0 = no limit */
    char max_cps[24];       /* calls per second as PostgreSQL prints it; "" = no limit */
};

struct rt_route {
    char name[65];
    regex_t re;
    int strip;
    char prepend[24];
    int emergency;
    struct rt_gateway gateways[RT_MAX_GATEWAYS];
    int ngateways;
};

struct rt_table {
    char tenant_id[40];
    struct rt_route *routes;
    int nroutes;
};

struct routing_store;

struct routing_store *routing_store_create(void);
void routing_store_destroy(struct routing_store *rs);
void routing_store_attach(struct routing_store *rs, struct pg_conn *const *pg, int n);

/* The statements routing_store runs, to be prepared on each of its connections. */
extern const struct pg_statement routing_store_statements[];
extern const int routing_store_nstatements;

/* t is the tenant's table (valid during the callback only), or NULL when PostgreSQL could not
 * be asked and nothing is cached. */
typedef void routing_table_f(void *arg, const struct rt_table *t);
void routing_store_table(struct routing_store *rs, const char *domain, routing_table_f *cb,
                         void *arg);

/* found 0: not a DID; ok 0: PostgreSQL could not be asked. */
struct rt_did {
    int ok, found;
    char tenant_id[40], domain[256], extension[65];
};
typedef void routing_did_f(void *arg, const struct rt_did *d);
void routing_store_did(struct routing_store *rs, const char *number, routing_did_f *cb, void *arg);

struct rt_source {
    int ok, found;
    char gateway_id[40], tenant_id[40], domain[256], name[65];
    int tenant_max_calls; /* the tenant's limits: 0 / "" = none */
    char tenant_max_cps[24];
};
typedef void routing_source_f(void *arg, const struct rt_source *s);
void routing_store_source(struct routing_store *rs, const char *ip, routing_source_f *cb,
                          void *arg);

/* A gateway as the node pings and registers it (every enabled gateway of every tenant). */
struct rt_gateway_conf {
    char id[40], tenant_id[40], name[65], host[254];
    int port;
    char transport[4];
    char username[129], password[129];
    int reg, reg_expires, ping_interval; /* register flag, its Expires, OPTIONS period (0 off) */
};
/* gws[0..n) valid during the callback only; n is -1 when PostgreSQL could not be asked. */
typedef void routing_gateways_f(void *arg, const struct rt_gateway_conf *gws, int n);
void routing_store_gateways(struct routing_store *rs, routing_gateways_f *cb, void *arg);

/* cb is called when the gateways table may have changed: a NOTIFY naming it, or a reconnect
 * (notifications may have been lost). One watcher; NULL to stop. */
typedef void routing_changed_f(void *arg);
void routing_store_watch_gateways(struct routing_store *rs, routing_changed_f *cb, void *arg);

/* pg_conn callbacks: a NOTIFY on tandem_routing ("<tenant_id> <table>"), and reconnects. */
void routing_store_on_notify(void *rs, const char *channel, const char *payload);
void routing_store_on_connected(void *rs);

#endif
