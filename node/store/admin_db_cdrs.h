/* The admin store's CDR queries (synchronous libpq, API threads only): one tenant's call detail
 * records in a time range, a page at a time, oldest first. */
#ifndef TANDEM_ADMIN_DB_CDRS_H
#define TANDEM_ADMIN_DB_CDRS_H

#include "store/admin_db.h"

struct admin_db_cdr_query {
    const char *tenant_id;
    int has_from, has_to;
    long long from_ms, to_ms; /* start_at in [from, to), unix ms */
    int page, per_page;       /* page counts from 1 */
};

/* out = {"items": [...], "page": n, "per_page": n, "next_page": n or null}; items carry the
 * cdrs columns with numbers as numbers and times as ISO 8601 UTC with milliseconds. NOT_FOUND
 * when the tenant does not exist. */
enum admin_db_rc admin_db_cdr_list(struct admin_db *db, const struct admin_db_cdr_query *q,
                                   json_t **out, struct admin_db_err *err);

#endif
