/* tandemctl's routing commands: gateway, did and route add/list. Options become the API's JSON
 * fields as they are; the API validates them, so its 422 (with the field) is the error shown. */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static const struct ctl_column gateway_cols[] = {{"ID", "id"},
                                                 {"NAME", "name"},
                                                 {"HOST", "host"},
                                                 {"PORT", "port"},
                                                 {"TRANSPORT", "transport"},
                                                 {"USERNAME", "username"},
                                                 {"REGISTER", "register"},
                                                 {"ACL", "acl_cidrs"},
                                                 {"ENABLED", "enabled"}};
static const struct ctl_column did_cols[] = {
    {"ID", "id"}, {"NUMBER", "number"}, {"TARGET TYPE", "target_type"}, {"TARGET", "target"}};
static const struct ctl_column route_cols[] = {{"ID", "id"},
                                               {"PRIORITY", "priority"},
                                               {"NAME", "name"},
                                               {"PATTERN", "pattern"},
                                               {"STRIP", "strip_digits"},
                                               {"PREPEND", "prepend"},
                                               {"GATEWAYS", "gateway_ids"},
                                               {"EMERGENCY", "emergency"},
                                               {"ENABLED", "enabled"}};

/* Sets body[key] = the integer in text; -1 (usage error printed) when text is not one. */
static int set_int(json_t *body, const char *key, const char *option, const char *text)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end)
        return ctl_usage_error("--%s needs an integer, not '%s'", option, text), -1;
    return json_object_set_new(body, key, json_integer(v)) == 0 ? 0 : -1;
}

/* Sets body[key] = the comma-separated list in text as an array of strings. */
static int set_list(json_t *body, const char *key, const char *option, const char *text)
{
    json_t *a = json_array();
    if (!a)
        return -1;
    for (const char *p = text;;) {
        size_t n = strcspn(p, ",");
        if (n == 0) {
            json_decref(a);
            return ctl_usage_error("--%s: empty element in '%s'", option, text), -1;
        }
        if (json_array_append_new(a, json_stringn(p, n)) != 0) {
            json_decref(a);
            return -1;
        }
        if (!p[n])
            break;
        p += n + 1;
    }
    return json_object_set_new(body, key, a) == 0 ? 0 : -1;
}

static int set_str(json_t *body, const char *key, const char *value)
{
    return value && json_object_set_new(body, key, json_string(value)) != 0 ? -1 : 0;
}

/* Common to the three commands: the key, --tenant and the subcommand; the collection path. */
static int prepare(const struct ctl_opts *o, const char *what, char *path, size_t len,
                   const char **sub)
{
    *sub = o->nargs > 1 ? o->args[1] : "";
    if (ctl_need_key(o))
        return CTL_USAGE;
    if (strcmp(*sub, "add") != 0 && strcmp(*sub, "list") != 0)
        return ctl_usage_error("%s: expected add or list", what);
    if (!o->tenant)
        return ctl_usage_error("%s %s needs --tenant ID", what, *sub);
    snprintf(path, len, "/v1/tenants/%s/%ss", o->tenant, what);
    return CTL_OK;
}

/* POSTs body (a usage error when building it failed: bad is set, or out of memory). */
static int post(const struct ctl_opts *o, const char *path, json_t *body, int bad,
                const struct ctl_column *cols, size_t n)
{
    if (bad || !body) {
        json_decref(body);
        if (!bad)
            fprintf(stderr, "tandemctl: out of memory\n");
        return bad ? CTL_USAGE : CTL_ERROR;
    }
    return ctl_run(o, "POST", path, body, cols, n, 0);
}

int ctl_gateway(struct ctl_opts *o)
{
    char path[256];
    const char *sub;
    int rc = prepare(o, "gateway", path, sizeof path, &sub);
    if (rc != CTL_OK)
        return rc;
    if (!strcmp(sub, "list"))
        return ctl_run(o, "GET", path, NULL, gateway_cols, NCOLS(gateway_cols), 1);
    if (!o->name || !o->host)
        return ctl_usage_error("gateway add needs --name and --host");
    json_t *body = json_pack("{s:s, s:s}", "name", o->name, "host", o->host);
    int bad = !body || set_str(body, "transport", o->transport) ||
              set_str(body, "username", o->username) || set_str(body, "password", o->password) ||
              (o->port && set_int(body, "port", "port", o->port)) ||
              (o->acl && set_list(body, "acl_cidrs", "acl", o->acl)) ||
              (o->register_ && json_object_set_new(body, "register", json_true()));
    return post(o, path, body, body && bad, gateway_cols, NCOLS(gateway_cols));
}

int ctl_did(struct ctl_opts *o)
{
    char path[256];
    const char *sub;
    int rc = prepare(o, "did", path, sizeof path, &sub);
    if (rc != CTL_OK)
        return rc;
    if (!strcmp(sub, "list"))
        return ctl_run(o, "GET", path, NULL, did_cols, NCOLS(did_cols), 1);
    if (!o->number || !o->extension)
        return ctl_usage_error("did add needs --number and --extension");
    json_t *body = json_pack("{s:s, s:s, s:s}", "number", o->number, "target_type", "extension",
                             "target", o->extension);
    return post(o, path, body, 0, did_cols, NCOLS(did_cols));
}

int ctl_route(struct ctl_opts *o)
{
    char path[256];
    const char *sub;
    int rc = prepare(o, "route", path, sizeof path, &sub);
    if (rc != CTL_OK)
        return rc;
    if (!strcmp(sub, "list"))
        return ctl_run(o, "GET", path, NULL, route_cols, NCOLS(route_cols), 1);
    if (!o->name || !o->pattern || !o->gateways)
        return ctl_usage_error("route add needs --name, --pattern and --gateways");
    json_t *body = json_pack("{s:s, s:s}", "name", o->name, "pattern", o->pattern);
    int bad = !body || set_list(body, "gateway_ids", "gateways", o->gateways) ||
              (o->priority && set_int(body, "priority", "priority", o->priority)) ||
              (o->strip && set_int(body, "strip_digits", "strip", o->strip)) ||
              set_str(body, "prepend", o->prepend) ||
              (o->emergency && json_object_set_new(body, "emergency", json_true()));
    return post(o, path, body, body && bad, route_cols, NCOLS(route_cols));
}
