/* The CDR writer's PostgreSQL side: a blocking connection with every timeout set, and the
 * parameterised multi-row INSERT ... ON CONFLICT (call_uuid) DO NOTHING. Writer thread only. */
#ifndef TANDEM_CDR_INSERT_H
#define TANDEM_CDR_INSERT_H

#include "store/cdr.h"

#include <libpq-fe.h>

enum cdr_ins_rc {
    CDR_INS_OK,
    CDR_INS_RETRY, /* the database's fault (connection, timeout, schema): try again later */
    CDR_INS_DATA,  /* the rows' fault (SQLSTATE class 22 or 23): retrying cannot help */
};

/* A connection with statement_timeout set, or NULL with err. Blocks for at most the conninfo's
 * connect_timeout (5 s when it has none). */
PGconn *cdr_insert_connect(const char *conninfo, char *err, size_t errlen);

/* Parameter buffers for batches of up to batch_max rows; NULL when out of memory. */
struct cdr_insert *cdr_insert_new(int batch_max);
void cdr_insert_free(struct cdr_insert *ins);

/* Inserts n <= batch_max rows in one statement (all commit or none); why gets the error. */
enum cdr_ins_rc cdr_insert_rows(struct cdr_insert *ins, PGconn *conn, const struct cdr *recs, int n,
                                char *why, size_t whylen);

#endif
