/* The admin store's connection: lazy connect, PQreset after a broken connection, one retry of a
 * statement that failed because the connection broke, and the mapping of SQL errors to rcs. */
#include "store/admin_db_internal.h"

#include "common/log.h"

#include <stdlib.h>
#include <string.h>

#define BOOLOID 16

struct admin_db {
    PGconn *conn;
    char conninfo[];
};

struct admin_db *admin_db_open(const char *conninfo)
{
    size_t len = strlen(conninfo);
    struct admin_db *db = calloc(1, sizeof *db + len + 1);
    if (!db)
        return NULL;
    memcpy(db->conninfo, conninfo, len + 1);
    return db;
}

void admin_db_close(struct admin_db *db)
{
    if (!db)
        return;
    PQfinish(db->conn);
    free(db);
}

/* 0 when connected. Reconnecting blocks for at most conninfo's connect_timeout. */
static int db_connect(struct admin_db *db)
{
    if (!db->conn) {
        db->conn = PQconnectdb(db->conninfo);
        if (!db->conn)
            return -1;
    } else if (PQstatus(db->conn) == CONNECTION_BAD) {
        PQreset(db->conn);
    }
    if (PQstatus(db->conn) != CONNECTION_OK) {
        log_warn(NULL, "api: PostgreSQL unavailable: %s", PQerrorMessage(db->conn));
        return -1;
    }
    return 0;
}

static const char *conflict_field(const char *constraint)
{
    if (!constraint)
        return NULL;
    if (strstr(constraint, "domain"))
        return "domain";
    if (strstr(constraint, "extension"))
        return "extension";
    if (strstr(constraint, "tenant_id"))
        return "tenant_id";
    return NULL;
}

static void map_error(struct admin_db *db, const PGresult *r, enum admin_db_rc *rc,
                      struct admin_db_err *err)
{
    if (!r || PQstatus(db->conn) != CONNECTION_OK) {
        *rc = ADMIN_DB_UNAVAILABLE;
        err->field = NULL;
        err->message = "database unavailable";
        return;
    }
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *field = conflict_field(PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME));
    if (state && !strcmp(state, "23505")) {
        *rc = ADMIN_DB_CONFLICT;
        err->field = field;
        err->message = field && !strcmp(field, "domain")      ? "domain already exists"
                       : field && !strcmp(field, "extension") ? "extension already exists"
                                                              : "already exists";
        return;
    }
    if (state && !strcmp(state, "23503")) {
        *rc = ADMIN_DB_INVALID;
        err->field = field;
        err->message = "refers to a row that does not exist";
        return;
    }
    log_error(NULL, "api: SQL error %s: %s", state ? state : "?", PQresultErrorMessage(r));
    *rc = ADMIN_DB_ERROR;
    err->field = NULL;
    err->message = "internal error";
}

PGresult *admin_db_exec(struct admin_db *db, const char *sql, int nparams,
                        const char *const *params, int retry, enum admin_db_rc *rc,
                        struct admin_db_err *err)
{
    /* A statement that failed on a broken connection is run once more after PQreset. The price:
     * a write whose COMMIT reached the server just before the break can run twice; every write
     * we retry here is a single statement, so the second run fails cleanly (409/404). */
    for (int attempt = 0;; attempt++) {
        if (db_connect(db) != 0) {
            map_error(db, NULL, rc, err);
            return NULL;
        }
        PGresult *r = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(r);
        if (r && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)) {
            *rc = ADMIN_DB_OK;
            return r;
        }
        if (retry && attempt == 0 && PQstatus(db->conn) == CONNECTION_BAD) {
            PQclear(r);
            continue;
        }
        map_error(db, r, rc, err);
        PQclear(r);
        return NULL;
    }
}

enum admin_db_rc admin_db_ping(struct admin_db *db)
{
    enum admin_db_rc rc;
    struct admin_db_err err;
    PQclear(admin_db_exec(db, "SELECT 1", 0, NULL, 1, &rc, &err));
    return rc == ADMIN_DB_OK ? ADMIN_DB_OK : ADMIN_DB_UNAVAILABLE;
}

enum admin_db_rc admin_db_begin(struct admin_db *db, struct admin_db_err *err)
{
    enum admin_db_rc rc;
    PQclear(admin_db_exec(db, "BEGIN", 0, NULL, 1, &rc, err));
    return rc;
}

enum admin_db_rc admin_db_commit(struct admin_db *db, struct admin_db_err *err)
{
    enum admin_db_rc rc;
    PQclear(admin_db_exec(db, "COMMIT", 0, NULL, 0, &rc, err));
    return rc;
}

void admin_db_rollback(struct admin_db *db)
{
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
        PQclear(PQexec(db->conn, "ROLLBACK"));
}

json_t *admin_db_row(const PGresult *r, int row)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    for (int c = 0; c < PQnfields(r); c++) {
        json_t *v;
        if (PQgetisnull(r, row, c))
            v = json_null();
        else if (PQftype(r, c) == BOOLOID)
            v = json_boolean(PQgetvalue(r, row, c)[0] == 't');
        else
            v = json_string(PQgetvalue(r, row, c));
        if (!v || json_object_set_new(o, PQfname(r, c), v) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

json_t *admin_db_rows(const PGresult *r)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *o = admin_db_row(r, i);
        if (!o || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}
