/* tandemctl's shared pieces: parsed options, the HTTP client onto the REST API, output
 * helpers and the commands. Exit codes: 0 success, 1 API or store error, 2 usage error. */
#ifndef TANDEMCTL_CTL_H
#define TANDEMCTL_CTL_H

#include <jansson.h>
#include <stddef.h>

#define CTL_OK 0
#define CTL_ERROR 1
#define CTL_USAGE 2

struct ctl_opts {
    char api[512];       /* base URL of the REST API */
    char key[256];       /* API key, "" when none was given */
    char conninfo[1024]; /* PostgreSQL, for db commands */
    const char *schema;
    int json, quiet, superadmin;
    const char *name, *domain, *tenant, *extension, *password, *display_name, *description;
    /* gateway, did and route options (ctl_routing.c) */
    const char *host, *port, *transport, *username, *acl, *number, *pattern, *gateways;
    const char *priority, *strip, *prepend;
    int register_, emergency;
    const char *from, *to, *page, *per_page; /* cdrs options (ctl_cdrs.c) */
    const char *max_calls, *max_cps;         /* tenant limits */
    const char *args[4];                     /* positional words: command, subcommand, id */
    int nargs;
};

/* One request; body may be NULL. *reply is the parsed JSON answer (NULL when empty).
 * Returns the HTTP status, or -1 with err on a transport failure (timeouts included). */
long ctl_http(const struct ctl_opts *o, const char *method, const char *path, json_t *body,
              json_t **reply, char *err, size_t errlen);

/* Runs an API request and reports failures: CTL_OK with *reply set when status is 2xx, else
 * prints the API's error and field to stderr and returns CTL_ERROR. */
int ctl_call(const struct ctl_opts *o, const char *method, const char *path, json_t *body,
             json_t **reply);

/* Output (ctl_output.c). A column: header and the object key to show. */
struct ctl_column {
    const char *header;
    const char *key;
};
void ctl_print_table(const json_t *rows, const struct ctl_column *cols, size_t ncols);
void ctl_print_object(const json_t *obj, const struct ctl_column *cols, size_t ncols);
void ctl_print_json(const json_t *v);

/* Runs method path (body stolen, may be NULL) and shows the answer: the new id (--quiet), the
 * JSON (--json), a table (list) or key: value lines. Used by every API command. */
int ctl_run(const struct ctl_opts *o, const char *method, const char *path, json_t *body,
            const struct ctl_column *cols, size_t n, int list);
/* 0 when an API key was given, else a usage message and -1. */
int ctl_need_key(const struct ctl_opts *o);

/* Commands (ctl_db.c, ctl_commands.c, ctl_routing.c). */
int ctl_db(struct ctl_opts *o);
int ctl_tenant(struct ctl_opts *o);
int ctl_user(struct ctl_opts *o);
int ctl_regs(struct ctl_opts *o);
int ctl_apikey(struct ctl_opts *o);
int ctl_gateway(struct ctl_opts *o);
int ctl_did(struct ctl_opts *o);
int ctl_route(struct ctl_opts *o);
int ctl_cdrs(struct ctl_opts *o);
int ctl_calls(struct ctl_opts *o);
int ctl_hangup(struct ctl_opts *o);
int ctl_originate(struct ctl_opts *o);
int ctl_cluster(struct ctl_opts *o); /* ctl_cluster.c */

/* Prints "tandemctl: <msg>" to stderr and returns CTL_USAGE. */
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
