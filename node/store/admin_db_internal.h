/* Helpers shared by the admin_db_*.c files: statement execution with reconnect, error mapping,
 * transactions and row-to-JSON conversion. Not for use outside node/store/admin_db*. */
#ifndef TANDEM_ADMIN_DB_INTERNAL_H
#define TANDEM_ADMIN_DB_INTERNAL_H

#include "store/admin_db.h"

#include <libpq-fe.h>

/* ISO 8601 UTC rendering of a timestamptz column, for SELECT lists and RETURNING. */
#define ADMIN_DB_TS(col)                                                                           \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS " col

/* Runs one parameterized statement. retry: reconnect and run again once if the connection had
 * broken (only outside a transaction). Returns the result (PQclear it) or NULL with *rc set. */
PGresult *admin_db_exec(struct admin_db *db, const char *sql, int nparams,
                        const char *const *params, int retry, enum admin_db_rc *rc,
                        struct admin_db_err *err);

/* BEGIN (with retry) / COMMIT / ROLLBACK. */
enum admin_db_rc admin_db_begin(struct admin_db *db, struct admin_db_err *err);
enum admin_db_rc admin_db_commit(struct admin_db *db, struct admin_db_err *err);
void admin_db_rollback(struct admin_db *db);

/* Row of r as a JSON object: column name -> string, boolean for bool columns, null for NULL. */
json_t *admin_db_row(const PGresult *r, int row);
/* All rows as an array. */
json_t *admin_db_rows(const PGresult *r);

#endif
