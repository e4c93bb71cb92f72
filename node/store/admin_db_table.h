/* CRUD on a tenant-owned table whose rows go out as JSON built by PostgreSQL, with INSERT and
 * UPDATE statements built from a validated JSON body. Internal to node/store/admin_db_*.c. */
#ifndef TANDEM_ADMIN_DB_TABLE_H
#define TANDEM_ADMIN_DB_TABLE_H

#include "store/admin_db_internal.h"

/* ISO 8601 UTC text of a timestamptz column, inside a json_build_object. */
#define ADMIN_DB_JSON_TS(col)                                                                      \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* How a body value becomes a column value (the body is passed whole as one jsonb parameter). */
enum admin_db_ctype {
    ADMIN_DB_C_TEXT,
    ADMIN_DB_C_INT,
    ADMIN_DB_C_BOOL,
    ADMIN_DB_C_NUMERIC,
    ADMIN_DB_C_INT_ARRAY,
    ADMIN_DB_C_CIDR_ARRAY,
    ADMIN_DB_C_UUID_ARRAY,
};

/* A writable column: its name is both the body's key and the column's. */
struct admin_db_col {
    const char *name;
    enum admin_db_ctype type;
};

struct admin_db_table {
    const char *name;                /* the table; has id, tenant_id, updated_at */
    const char *json;                /* SQL expression rendering one row as a json object */
    const char *order;               /* ORDER BY of lists */
    const struct admin_db_col *cols; /* the columns a body may set */
    size_t ncols;
    const char *unique_field; /* the field named by a duplicate (23505) */
    const char *unique_message;
};

/* All rows of the tenant as a JSON array; NOT_FOUND when the tenant does not exist. */
enum admin_db_rc admin_db_table_list(struct admin_db *db, const struct admin_db_table *t,
                                     const char *tenant_id, json_t **out, struct admin_db_err *err);
enum admin_db_rc admin_db_table_get(struct admin_db *db, const struct admin_db_table *t,
                                    const char *tenant_id, const char *id, json_t **out,
                                    struct admin_db_err *err);
/* INSERT of the body's columns (the rest take their defaults); NOT_FOUND for no such tenant.
 * retry: 1 outside a transaction, 0 inside one (see admin_db_exec). */
enum admin_db_rc admin_db_table_insert(struct admin_db *db, const struct admin_db_table *t,
                                       const char *tenant_id, const json_t *body, int retry,
                                       json_t **out, struct admin_db_err *err);
/* UPDATE of the body's columns (JSON null sets NULL) and updated_at. */
enum admin_db_rc admin_db_table_update(struct admin_db *db, const struct admin_db_table *t,
                                       const char *tenant_id, const char *id, const json_t *body,
                                       int retry, json_t **out, struct admin_db_err *err);
enum admin_db_rc admin_db_table_delete(struct admin_db *db, const struct admin_db_table *t,
                                       const char *tenant_id, const char *id, int retry,
                                       struct admin_db_err *err);

/* Sets err and returns NOT_FOUND / ERROR (out of memory). */
enum admin_db_rc admin_db_not_found(struct admin_db_err *err);
enum admin_db_rc admin_db_no_memory(struct admin_db_err *err);

#endif
