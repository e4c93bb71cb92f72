/* Synchronous PostgreSQL access for the REST API threads: tenants, users and API keys.
 * One struct admin_db per thread (never shared, never used from the signalling loop). */
#ifndef TANDEM_ADMIN_DB_H
#define TANDEM_ADMIN_DB_H

#include <jansson.h>

enum admin_db_rc {
    ADMIN_DB_OK = 0,
    ADMIN_DB_NOT_FOUND,   /* no such row, or not in the caller's tenant */
    ADMIN_DB_CONFLICT,    /* duplicate or state conflict; err.field names the field */
    ADMIN_DB_INVALID,     /* a value refers to something missing; err.field names it */
    ADMIN_DB_UNAVAILABLE, /* PostgreSQL unreachable (after one reconnect attempt) */
    ADMIN_DB_ERROR,       /* anything else; already logged */
};

/* Why a call failed, for the API's error body. Both point to static strings. */
struct admin_db_err {
    const char *field;
    const char *message;
};

struct admin_db;

/* A handle on conninfo; connects lazily, reconnects (PQreset) when the connection broke.
 * connect_timeout comes from conninfo. NULL only when out of memory. */
struct admin_db *admin_db_open(const char *conninfo);
void admin_db_close(struct admin_db *db);

/* SELECT 1; ADMIN_DB_OK or ADMIN_DB_UNAVAILABLE. */
enum admin_db_rc admin_db_ping(struct admin_db *db);

/* Tenants. Objects: {id, name, domain, max_calls, max_cps, created_at, updated_at}. NULL strings
 * mean "keep". */
/* The call limits as text (validated already); set 0 keeps the column, NULL value clears it. */
struct admin_db_tenant_limits {
    int set_calls, set_cps;
    const char *max_calls, *max_cps;
};
enum admin_db_rc admin_db_tenant_create(struct admin_db *db, const char *name, const char *domain,
                                        const struct admin_db_tenant_limits *lim, json_t **out,
                                        struct admin_db_err *err);
/* only_id NULL lists every tenant, else only that one (a tenant key's view). */
enum admin_db_rc admin_db_tenant_list(struct admin_db *db, const char *only_id, json_t **out,
                                      struct admin_db_err *err);
enum admin_db_rc admin_db_tenant_get(struct admin_db *db, const char *id, json_t **out,
                                     struct admin_db_err *err);
/* Refuses (CONFLICT on "domain") to change the domain of a tenant that has users: their HA1
 * was computed with the domain as realm and would silently stop matching. */
enum admin_db_rc admin_db_tenant_update(struct admin_db *db, const char *id, const char *name,
                                        const char *domain,
                                        const struct admin_db_tenant_limits *lim, json_t **out,
                                        struct admin_db_err *err);
enum admin_db_rc admin_db_tenant_delete(struct admin_db *db, const char *id,
                                        struct admin_db_err *err);

/* Users. Objects: {id, tenant_id, extension, display_name, enabled, created_at, updated_at};
 * never the password nor the HA1. */
struct admin_db_user {
    const char *extension;    /* NULL = keep (update) */
    const char *password;     /* NULL = keep (update); required on create */
    const char *display_name; /* NULL = keep / default "" */
    int enabled;              /* -1 = keep / default true */
};
enum admin_db_rc admin_db_user_create(struct admin_db *db, const char *tenant_id,
                                      const struct admin_db_user *u, json_t **out,
                                      struct admin_db_err *err);
enum admin_db_rc admin_db_user_list(struct admin_db *db, const char *tenant_id, json_t **out,
                                    struct admin_db_err *err);
enum admin_db_rc admin_db_user_get(struct admin_db *db, const char *tenant_id, const char *id,
                                   json_t **out, struct admin_db_err *err);
/* A changed extension needs a new password (INVALID on "password"): HA1 includes it. */
enum admin_db_rc admin_db_user_update(struct admin_db *db, const char *tenant_id, const char *id,
                                      const struct admin_db_user *u, json_t **out,
                                      struct admin_db_err *err);
enum admin_db_rc admin_db_user_delete(struct admin_db *db, const char *tenant_id, const char *id,
                                      struct admin_db_err *err);

/* API keys. tenant_id NULL makes a superadmin key. out = {id, key, tenant_id}: the only place
 * the key is ever seen; only its SHA-256 is stored. */
enum admin_db_rc admin_db_apikey_create(struct admin_db *db, const char *tenant_id,
                                        const char *description, json_t **out,
                                        struct admin_db_err *err);

struct admin_db_key {
    char id[37];
    char tenant_id[37]; /* "" for a superadmin key */
};
/* NOT_FOUND for an unknown key. */
enum admin_db_rc admin_db_apikey_lookup(struct admin_db *db, const char *key,
                                        struct admin_db_key *out, struct admin_db_err *err);

/* The domain of tenant id into out (the registrations view keys Redis by domain). */
enum admin_db_rc admin_db_tenant_domain(struct admin_db *db, const char *id, char *out,
                                        size_t outlen, struct admin_db_err *err);

#endif
