/* tandemctl's API commands: tenant add/list/show/del, user add/list, regs, apikey add.
 * Each builds one request, then prints a table (default), the raw JSON (--json) or just the
 * new id (--quiet). */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct ctl_column tenant_cols[] = {
    {"ID", "id"}, {"NAME", "name"}, {"DOMAIN", "domain"}, {"CREATED", "created_at"}};
static const struct ctl_column user_cols[] = {{"ID", "id"},
                                              {"EXTENSION", "extension"},
                                              {"DISPLAY NAME", "display_name"},
                                              {"ENABLED", "enabled"}};
static const struct ctl_column reg_cols[] = {{"AOR", "aor"},
                                             {"CONTACT", "contact"},
                                             {"EXPIRES", "expires"},
                                             {"TRANSPORT", "transport"},
                                             {"RECEIVED", "received"},
                                             {"NODE", "node"},
                                             {"USER AGENT", "user_agent"}};
static const struct ctl_column key_cols[] = {{"ID", "id"}, {"TENANT", "tenant_id"}, {"KEY", "key"}};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

int ctl_need_key(const struct ctl_opts *o)
{
    if (o->key[0])
        return 0;
    ctl_usage_error("no API key: use --key, --key-file or TANDEM_API_KEY");
    return -1;
}

/* Shows a created/fetched object: its id (--quiet), JSON (--json) or key: value lines. */
static void show_one(const struct ctl_opts *o, const json_t *v, const struct ctl_column *cols,
                     size_t n)
{
    if (o->quiet)
        puts(json_string_value(json_object_get(v, "id")) ?: "");
    else if (o->json)
        ctl_print_json(v);
    else
        ctl_print_object(v, cols, n);
}

static void show_list(const struct ctl_opts *o, const json_t *v, const struct ctl_column *cols,
                      size_t n)
{
    if (o->json)
        ctl_print_json(v);
    else
        ctl_print_table(v, cols, n);
}

int ctl_run(const struct ctl_opts *o, const char *method, const char *path, json_t *body,
            const struct ctl_column *cols, size_t n, int list)
{
    json_t *reply = NULL;
    int rc = ctl_call(o, method, path, body, &reply);
    json_decref(body);
    if (rc != CTL_OK)
        return rc;
    if (!reply)
        printf("done\n");
    else if (list)
        show_list(o, reply, cols, n);
    else
        show_one(o, reply, cols, n);
    json_decref(reply);
    return CTL_OK;
}

int ctl_tenant(struct ctl_opts *o)
{
    const char *sub = o->nargs > 1 ? o->args[1] : "";
    char path[256];
    if (ctl_need_key(o))
        return CTL_USAGE;
    if (!strcmp(sub, "add")) {
        if (!o->name || !o->domain)
            return ctl_usage_error("tenant add needs --name and --domain");
        json_t *body = json_pack("{s:s, s:s}", "name", o->name, "domain", o->domain);
        /* limits go as numbers; the API names a bad value (422) */
        if (body && o->max_calls)
            json_object_set_new(body, "max_calls", json_integer(strtoll(o->max_calls, NULL, 10)));
        if (body && o->max_cps)
            json_object_set_new(body, "max_cps", json_real(strtod(o->max_cps, NULL)));
        return ctl_run(o, "POST", "/v1/tenants", body, tenant_cols, NCOLS(tenant_cols), 0);
    }
    if (!strcmp(sub, "list"))
        return ctl_run(o, "GET", "/v1/tenants", NULL, tenant_cols, NCOLS(tenant_cols), 1);
    if (!strcmp(sub, "show") || !strcmp(sub, "del")) {
        if (o->nargs != 3)
            return ctl_usage_error("tenant %s needs a tenant id", sub);
        snprintf(path, sizeof path, "/v1/tenants/%s", o->args[2]);
        return ctl_run(o, !strcmp(sub, "show") ? "GET" : "DELETE", path, NULL, tenant_cols,
                       NCOLS(tenant_cols), 0);
    }
    return ctl_usage_error("tenant: expected add, list, show or del");
}

int ctl_user(struct ctl_opts *o)
{
    const char *sub = o->nargs > 1 ? o->args[1] : "";
    char path[256];
    if (ctl_need_key(o))
        return CTL_USAGE;
    if (!o->tenant)
        return ctl_usage_error("user %s needs --tenant ID", sub);
    snprintf(path, sizeof path, "/v1/tenants/%s/users", o->tenant);
    if (!strcmp(sub, "add")) {
        if (!o->extension || !o->password)
            return ctl_usage_error("user add needs --extension and --password");
        json_t *body = json_pack("{s:s, s:s}", "extension", o->extension, "password", o->password);
        if (body && o->display_name)
            json_object_set_new(body, "display_name", json_string(o->display_name));
        return ctl_run(o, "POST", path, body, user_cols, NCOLS(user_cols), 0);
    }
    if (!strcmp(sub, "list"))
        return ctl_run(o, "GET", path, NULL, user_cols, NCOLS(user_cols), 1);
    return ctl_usage_error("user: expected add or list");
}

int ctl_regs(struct ctl_opts *o)
{
    char path[256];
    if (ctl_need_key(o))
        return CTL_USAGE;
    if (!o->tenant)
        return ctl_usage_error("regs needs --tenant ID");
    snprintf(path, sizeof path, "/v1/tenants/%s/registrations", o->tenant);
    return ctl_run(o, "GET", path, NULL, reg_cols, NCOLS(reg_cols), 1);
}

int ctl_apikey(struct ctl_opts *o)
{
    const char *sub = o->nargs > 1 ? o->args[1] : "";
    if (ctl_need_key(o))
        return CTL_USAGE;
    if (strcmp(sub, "add") != 0)
        return ctl_usage_error("apikey: expected add");
    json_t *body = json_object();
    if (body) {
        json_object_set_new(body, "tenant_id", o->tenant ? json_string(o->tenant) : json_null());
        if (o->description)
            json_object_set_new(body, "description", json_string(o->description));
    }
    json_t *reply = NULL;
    int rc = ctl_call(o, "POST", "/v1/api-keys", body, &reply);
    json_decref(body);
    if (rc != CTL_OK)
        return rc;
    if (o->quiet)
        puts(json_string_value(json_object_get(reply, "key")) ?: "");
    else
        show_one(o, reply, key_cols, NCOLS(key_cols));
    json_decref(reply);
    return CTL_OK;
}
