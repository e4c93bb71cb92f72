/* tandemctl: the operator's command line over tandemd's REST API (and, for `db`, PostgreSQL).
 * Parses global and command options in any order, resolves the API URL, key and conninfo from
 * options, tandem.conf and the environment, then runs one command. */
#include "ctl.h"

#include "common/config.h"
#include "common/log.h"

#include <curl/curl.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: tandemctl [global options] command [options]\n"
    "global options:\n"
    "  --api URL         REST API base URL (default http://127.0.0.1:8080, or from --config)\n"
    "  --key KEY         API key (default $TANDEM_API_KEY)\n"
    "  --key-file FILE   read the API key from FILE\n"
    "  --config FILE     tandem.conf: postgres.conninfo, api.address, api.port\n"
    "  --db CONNINFO     PostgreSQL conninfo for db commands\n"
    "  --json            print raw JSON\n"
    "commands:\n"
    "  db migrate [--schema DIR]\n"
    "  db apikey --superadmin|--tenant ID [--description D]\n"
    "  tenant add --name N --domain D [--max-calls N] [--max-cps R] [--quiet]\n"
    "  tenant list | tenant show ID | tenant del ID\n"
    "  user add --tenant ID --extension E --password P [--display-name N] [--quiet]\n"
    "  user list --tenant ID\n"
    "  regs --tenant ID\n"
    "  apikey add [--tenant ID] [--description D] [--quiet]\n"
    "  gateway add --tenant ID --name N --host H [--port P] [--transport udp|tcp]\n"
    "              [--username U --password P [--register]] [--acl CIDR,...] [--quiet]\n"
    "  gateway list --tenant ID\n"
    "  did add --tenant ID --number N --extension E [--quiet]\n"
    "  did list --tenant ID\n"
    "  route add --tenant ID --name N --pattern RE --gateways GW_ID,... [--priority N]\n"
    "            [--strip N] [--prepend P] [--emergency] [--quiet]\n"
    "  route list --tenant ID\n"
    "  cdrs --tenant ID [--from TIME] [--to TIME] [--page N] [--per-page N]\n"
    "  calls --tenant ID\n"
    "  hangup --tenant ID CALL_UUID\n"
    "  originate --tenant ID --from EXTENSION --to EXTENSION_OR_NUMBER\n"
    "  cluster           members, quorum and ring id as this node sees them\n";

int ctl_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tandemctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(tandemctl --help for usage)\n", stderr);
    va_end(ap);
    return CTL_USAGE;
}

struct raw_opts {
    const char *api, *key, *key_file, *config, *db;
};

/* Reads the first line of path into out. */
static int read_key_file(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int ok = fgets(out, (int)len, f) != NULL;
    fclose(f);
    if (!ok)
        return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return out[0] ? 0 : -1;
}

/* Reads the keys tandemctl needs from tandem.conf with config_set, ignoring the rest: unlike
 * tandemd we must not refuse a file whose other keys fail config_check (auth.nonce_secret). */
static int read_config(const char *path, struct tandem_config *cfg)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[2048], err[256];
    while (fgets(line, sizeof line, f)) {
        char *s = line, *eq = strchr(line, '=');
        while (isspace((unsigned char)*s))
            s++;
        if (*s == '#' || !eq)
            continue;
        char *k_end = eq;
        while (k_end > s && isspace((unsigned char)k_end[-1]))
            k_end--;
        *k_end = '\0';
        char *v = eq + 1;
        while (isspace((unsigned char)*v))
            v++;
        size_t vl = strlen(v);
        while (vl && isspace((unsigned char)v[vl - 1]))
            v[--vl] = '\0';
        if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
            v[vl - 1] = '\0';
            v++;
        }
        if (!strcmp(s, "postgres.conninfo") || !strcmp(s, "api.address") || !strcmp(s, "api.port"))
            if (config_set(cfg, s, v, err, sizeof err) != 0)
                fprintf(stderr, "tandemctl: %s: %s: %s\n", path, s, err);
    }
    fclose(f);
    return 0;
}

/* Option table: long name, whether it takes a value, where it goes. */
static int parse(int argc, char **argv, struct ctl_opts *o, struct raw_opts *raw)
{
    struct {
        const char *name;
        const char **value;
        int *flag;
    } table[] = {
        {"api", &raw->api, NULL},
        {"key", &raw->key, NULL},
        {"key-file", &raw->key_file, NULL},
        {"config", &raw->config, NULL},
        {"db", &raw->db, NULL},
        {"schema", &o->schema, NULL},
        {"name", &o->name, NULL},
        {"domain", &o->domain, NULL},
        {"tenant", &o->tenant, NULL},
        {"extension", &o->extension, NULL},
        {"password", &o->password, NULL},
        {"display-name", &o->display_name, NULL},
        {"description", &o->description, NULL},
        {"host", &o->host, NULL},
        {"port", &o->port, NULL},
        {"transport", &o->transport, NULL},
        {"username", &o->username, NULL},
        {"acl", &o->acl, NULL},
        {"number", &o->number, NULL},
        {"pattern", &o->pattern, NULL},
        {"gateways", &o->gateways, NULL},
        {"priority", &o->priority, NULL},
        {"strip", &o->strip, NULL},
        {"prepend", &o->prepend, NULL},
        {"register", NULL, &o->register_},
        {"emergency", NULL, &o->emergency},
        {"from", &o->from, NULL},
        {"to", &o->to, NULL},
        {"page", &o->page, NULL},
        {"per-page", &o->per_page, NULL},
        {"max-calls", &o->max_calls, NULL},
        {"max-cps", &o->max_cps, NULL},
        {"json", NULL, &o->json},
        {"quiet", NULL, &o->quiet},
        {"superadmin", NULL, &o->superadmin},
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            exit(CTL_OK);
        }
        if (strncmp(a, "--", 2) != 0) {
            if (o->nargs == 4)
                return ctl_usage_error("unexpected argument '%s'", a);
            o->args[o->nargs++] = a;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        size_t k = 0, n = sizeof table / sizeof table[0];
        while (k < n && (strlen(table[k].name) != nlen || strncmp(table[k].name, name, nlen)))
            k++;
        if (k == n)
            return ctl_usage_error("unknown option '%s'", a);
        if (table[k].flag) {
            if (eq)
                return ctl_usage_error("--%s takes no value", table[k].name);
            *table[k].flag = 1;
        } else if (eq) {
            *table[k].value = eq + 1;
        } else if (i + 1 < argc) {
            *table[k].value = argv[++i];
        } else {
            return ctl_usage_error("--%s needs a value", table[k].name);
        }
    }
    return CTL_OK;
}

/* Fills api, key and conninfo from options, then tandem.conf, then the environment. */
static int resolve(struct ctl_opts *o, const struct raw_opts *raw)
{
    struct tandem_config cfg;
    config_defaults(&cfg);
    if (raw->config && read_config(raw->config, &cfg) != 0)
        return ctl_usage_error("--config %s: cannot read it", raw->config);
    if (raw->api)
        snprintf(o->api, sizeof o->api, "%s", raw->api);
    else if (raw->config)
        snprintf(o->api, sizeof o->api,
                 strchr(cfg.api_address, ':') ? "http://[%s]:%d" : "http://%s:%d", cfg.api_address,
                 cfg.api_port);
    else
        snprintf(o->api, sizeof o->api, "http://127.0.0.1:8080");
    size_t l = strlen(o->api);
    while (l && o->api[l - 1] == '/')
        o->api[--l] = '\0';
    snprintf(o->conninfo, sizeof o->conninfo, "%s", raw->db ? raw->db : cfg.postgres_conninfo);
    const char *env = getenv("TANDEM_API_KEY");
    if (raw->key) {
        snprintf(o->key, sizeof o->key, "%s", raw->key);
    } else if (raw->key_file) {
        if (read_key_file(raw->key_file, o->key, sizeof o->key) != 0)
            return ctl_usage_error("--key-file %s: cannot read a key from it", raw->key_file);
    } else if (env) {
        snprintf(o->key, sizeof o->key, "%s", env);
    }
    return CTL_OK;
}

int main(int argc, char **argv)
{
    struct ctl_opts o = {0};
    struct raw_opts raw = {0};
    int rc = parse(argc, argv, &o, &raw);
    if (rc != CTL_OK)
        return rc;
    if ((rc = resolve(&o, &raw)) != CTL_OK)
        return rc;
    if (o.nargs == 0) {
        fputs(usage, stderr);
        return CTL_USAGE;
    }
    log_set_level(LOG_ERROR);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        fprintf(stderr, "tandemctl: cannot initialise libcurl\n");
        return CTL_ERROR;
    }
    const char *cmd = o.args[0];
    if (!strcmp(cmd, "db"))
        rc = ctl_db(&o);
    else if (!strcmp(cmd, "tenant"))
        rc = ctl_tenant(&o);
    else if (!strcmp(cmd, "user"))
        rc = ctl_user(&o);
    else if (!strcmp(cmd, "regs"))
        rc = ctl_regs(&o);
    else if (!strcmp(cmd, "apikey"))
        rc = ctl_apikey(&o);
    else if (!strcmp(cmd, "gateway"))
        rc = ctl_gateway(&o);
    else if (!strcmp(cmd, "did"))
        rc = ctl_did(&o);
    else if (!strcmp(cmd, "route"))
        rc = ctl_route(&o);
    else if (!strcmp(cmd, "cdrs"))
        rc = ctl_cdrs(&o);
    else if (!strcmp(cmd, "calls"))
        rc = ctl_calls(&o);
    else if (!strcmp(cmd, "hangup"))
        rc = ctl_hangup(&o);
    else if (!strcmp(cmd, "originate"))
        rc = ctl_originate(&o);
    else if (!strcmp(cmd, "cluster"))
        rc = ctl_cluster(&o);
    else
        rc = ctl_usage_error("unknown command '%s'", cmd);
    curl_global_cleanup();
    return rc;
}
