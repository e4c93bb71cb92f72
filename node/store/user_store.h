/* The node's cache of SIP users (HA1 and tenant) in front of PostgreSQL. Entries are dropped on
 * LISTEN/NOTIFY; while PostgreSQL is unreachable, cached users keep authenticating. */
#ifndef TANDEM_USER_STORE_H
#define TANDEM_USER_STORE_H

#include "store/pg_conn.h"

struct user_info {
    int found; /* 0: no such user in this domain */
    int enabled;
    char tenant_id[40];
    char ha1[33];
    int max_calls;    /* the tenant's concurrent calls, 0 = no limit */
    char max_cps[24]; /* the tenant's calls per second, "" = no limit */
};

/* u is NULL when the user is unknown to the cache and PostgreSQL cannot be asked. */
typedef void user_lookup_f(void *arg, const struct user_info *u);

struct user_store;

struct user_store *user_store_create(int cache_seconds);
void user_store_destroy(struct user_store *us);

/* The connections are set after creation because their NOTIFY callback needs the store.
 * Lookups go to the least busy connected one: one connection allows one query in flight. */
void user_store_attach(struct user_store *us, struct pg_conn *const *pg, int n);

/* Calls cb at once on a fresh cache hit, otherwise after asking PostgreSQL. */
void user_store_lookup(struct user_store *us, const char *domain, const char *user,
                       user_lookup_f *cb, void *arg);

/* The statements user_store runs, to be prepared on each of its connections. */
extern const struct pg_statement user_store_statements[];
extern const int user_store_nstatements;

/* pg_conn callbacks: a NOTIFY payload "<domain> <user>" or "<domain> *", and reconnects. */
void user_store_on_notify(void *us, const char *channel, const char *payload);
void user_store_on_connected(void *us);

#endif
