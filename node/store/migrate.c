/* Applies numbered SQL files from the schema directory, recording each in tandem_migrations.
 * A session advisory lock serialises migrators: the second one waits, then finds nothing to do. */
#include "store/migrate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

/* Arbitrary but fixed: "tandem" in ASCII. Every migrator must use the same number. */
#define MIGRATE_LOCK_KEY "127970793399661"

struct migration {
    long version;
    char file[256];
};

static int cmp_migration(const void *a, const void *b)
{
    const struct migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/* Lists NNN_name.sql files sorted by version; *out is malloc'd. Returns count or -1. */
static int list_migrations(const char *dir, struct migration **out, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    struct migration *list = NULL;
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *name = de->d_name;
        size_t len = strlen(name), digits = 0;
        while (isdigit((unsigned char)name[digits]))
            digits++;
        if (digits == 0 || name[digits] != '_' || len < 5 || strcmp(name + len - 4, ".sql") ||
            len >= sizeof list[0].file)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct migration *grown = realloc(list, (size_t)cap * sizeof *list);
            if (!grown) {
                snprintf(err, errlen, "out of memory");
                free(list);
                closedir(d);
                return -1;
            }
            list = grown;
        }
        list[n].version = strtol(name, NULL, 10);
        strcpy(list[n].file, name);
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(list, (size_t)n, sizeof *list, cmp_migration);
    for (int i = 1; i < n; i++)
        if (list[i].version == list[i - 1].version) {
            snprintf(err, errlen, "%s and %s share version %ld", list[i - 1].file, list[i].file,
                     list[i].version);
            free(list);
            return -1;
        }
    *out = list;
    return n;
}

static char *read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    char chunk[8192];
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + got + 1 > cap) {
            cap = (len + got + 1) * 2;
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                snprintf(err, errlen, "%s: out of memory", path);
                return NULL;
            }
            buf = grown;
        }
        memcpy(buf + len, chunk, got);
        len += got;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        snprintf(err, errlen, "%s: read error", path);
        return NULL;
    }
    if (!buf && !(buf = calloc(1, 1))) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

/* Runs a statement expecting success; on failure copies the server's message into err. */
static int run(PGconn *c, const char *sql, int nparams, const char *const *params, const char *what,
               char *err, size_t errlen)
{
    PGresult *r =
        nparams ? PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0) : PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(err, errlen, "%s: %s", what, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    PQclear(r);
    if (!ok) {
        /* Strip libpq's trailing newline so the message prints on one line. */
        size_t l = strlen(err);
        while (l && (err[l - 1] == '\n' || err[l - 1] == ' '))
            err[--l] = '\0';
    }
    return ok ? 0 : -1;
}

static int applied(PGconn *c, long version, int *is_applied, char *err, size_t errlen)
{
    char v[24];
    snprintf(v, sizeof v, "%ld", version);
    const char *params[] = {v};
    PGresult *r = PQexecParams(c, "SELECT 1 FROM tandem_migrations WHERE version = $1", 1, NULL,
                               params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "reading tandem_migrations: %s", PQerrorMessage(c));
        PQclear(r);
        return -1;
    }
    *is_applied = PQntuples(r) > 0;
    PQclear(r);
    return 0;
}

static int apply_one(PGconn *c, const char *dir, const struct migration *m, char *err,
                     size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, m->file);
    char *sql = read_file(path, err, errlen);
    if (!sql)
        return -1;
    char version[24], name[256];
    snprintf(version, sizeof version, "%ld", m->version);
    const char *underscore = strchr(m->file, '_');
    snprintf(name, sizeof name, "%.*s", (int)(strlen(underscore + 1) - 4), underscore + 1);
    const char *params[] = {version, name};
    int rc = -1;
    if (run(c, "BEGIN", 0, NULL, "BEGIN", err, errlen) != 0)
        goto out;
    /* The file is trusted SQL from our own tree and may hold several statements, hence PQexec. */
    if (run(c, sql, 0, NULL, m->file, err, errlen) != 0 ||
        run(c, "INSERT INTO tandem_migrations (version, name, applied_at) VALUES ($1, $2, now())",
            2, params, m->file, err, errlen) != 0 ||
        run(c, "COMMIT", 0, NULL, m->file, err, errlen) != 0) {
        PQclear(PQexec(c, "ROLLBACK"));
        goto out;
    }
    rc = 0;
out:
    free(sql);
    return rc;
}

int store_migrate(const char *conninfo, const char *schema_dir, FILE *out, char *err, size_t errlen)
{
    struct migration *list = NULL;
    int n = list_migrations(schema_dir, &list, err, errlen);
    if (n < 0)
        return -1;
    if (n == 0) {
        snprintf(err, errlen, "%s: no NNN_name.sql files", schema_dir);
        free(list);
        return -1;
    }
    PGconn *c = PQconnectdb(conninfo);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to PostgreSQL: %s",
                 c ? PQerrorMessage(c) : "out of memory");
        size_t l = strlen(err);
        while (l && err[l - 1] == '\n')
            err[--l] = '\0';
        PQfinish(c);
        free(list);
        return -1;
    }
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    int rc = -1, count = 0;
    if (run(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL, "advisory lock", err,
            errlen) != 0)
        goto out;
    if (run(c,
            "CREATE TABLE IF NOT EXISTS tandem_migrations (version int PRIMARY KEY, name text "
            "NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
            0, NULL, "creating tandem_migrations", err, errlen) != 0)
        goto unlock;
    for (int i = 0; i < n; i++) {
        int done;
        if (applied(c, list[i].version, &done, err, errlen) != 0)
            goto unlock;
        if (done)
            continue;
        if (apply_one(c, schema_dir, &list[i], err, errlen) != 0)
            goto unlock;
        fprintf(out, "applied %s\n", list[i].file);
        count++;
    }
    if (count == 0)
        fprintf(out, "schema up to date\n");
    rc = 0;
unlock:
    PQclear(PQexec(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
out:
    PQfinish(c);
    free(list);
    return rc;
}
