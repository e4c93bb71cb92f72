/* tandemctl's direct database commands, which work before any node runs: `db migrate` applies
 * the schema, `db apikey` creates the first (superadmin) key straight in PostgreSQL. */
#include "ctl.h"

#include "store/admin_db.h"
#include "store/migrate.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* <dir of this executable>/../schema, else /usr/share/tandem/schema. */
static const char *default_schema(char *buf, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, len, "%s/../schema", exe);
            if (access(buf, R_OK | X_OK) == 0)
                return buf;
        }
    }
    return "/usr/share/tandem/schema";
}

static int db_migrate(struct ctl_opts *o)
{
    char buf[PATH_MAX + 16], err[1024];
    const char *dir = o->schema ? o->schema : default_schema(buf, sizeof buf);
    if (store_migrate(o->conninfo, dir, stdout, err, sizeof err) != 0) {
        fprintf(stderr, "tandemctl: db migrate: %s\n", err);
        return CTL_ERROR;
    }
    return CTL_OK;
}

static int db_apikey(struct ctl_opts *o)
{
    if (!o->superadmin && !o->tenant)
        return ctl_usage_error("db apikey needs --superadmin or --tenant ID");
    if (o->superadmin && o->tenant)
        return ctl_usage_error("db apikey: --superadmin and --tenant exclude each other");
    struct admin_db *db = admin_db_open(o->conninfo);
    if (!db) {
        fprintf(stderr, "tandemctl: out of memory\n");
        return CTL_ERROR;
    }
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc =
        admin_db_apikey_create(db, o->superadmin ? NULL : o->tenant, o->description, &out, &err);
    admin_db_close(db);
    if (rc != ADMIN_DB_OK) {
        const char *msg = err.message ? err.message : "failed";
        if (err.field)
            fprintf(stderr, "tandemctl: db apikey: %s (field: %s)\n", msg, err.field);
        else
            fprintf(stderr, "tandemctl: db apikey: %s\n", msg);
        return CTL_ERROR;
    }
    if (o->json)
        ctl_print_json(out);
    else
        puts(json_string_value(json_object_get(out, "key")));
    json_decref(out);
    return CTL_OK;
}

int ctl_db(struct ctl_opts *o)
{
    const char *sub = o->nargs > 1 ? o->args[1] : "";
    if (!strcmp(sub, "migrate"))
        return db_migrate(o);
    if (!strcmp(sub, "apikey"))
        return db_apikey(o);
    return ctl_usage_error("db: expected migrate or apikey");
}
