/* tandemctl calls / hangup / originate: a tenant's live calls as a table, hanging one up, and
 * asking the node to connect an extension to an extension or number (all over the REST API). */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

static const struct ctl_column call_cols[] = {
    {"UUID", "uuid"}, {"CALLER", "caller"},   {"CALLEE", "callee"},       {"STATE", "state"},
    {"NODE", "node"}, {"GATEWAY", "gateway"}, {"DURATION", "duration_s"}, {"BILLSEC", "billsec"},
};

int ctl_calls(struct ctl_opts *o)
{
    if (ctl_need_key(o))
        return CTL_USAGE;
    if (!o->tenant)
        return ctl_usage_error("calls needs --tenant ID");
    char path[256];
    snprintf(path, sizeof path, "/v1/tenants/%s/calls", o->tenant);
    json_t *reply = NULL;
    int rc = ctl_call(o, "GET", path, NULL, &reply);
    if (rc != CTL_OK)
        return rc;
    if (o->json)
        ctl_print_json(reply);
    else
        ctl_print_table(reply, call_cols, sizeof call_cols / sizeof call_cols[0]);
    json_decref(reply);
    return CTL_OK;
}

int ctl_hangup(struct ctl_opts *o)
{
    if (ctl_need_key(o))
        return CTL_USAGE;
    if (!o->tenant || o->nargs < 2)
        return ctl_usage_error("hangup needs --tenant ID and a call UUID");
    char path[256];
    snprintf(path, sizeof path, "/v1/tenants/%s/calls/%s", o->tenant, o->args[1]);
    json_t *reply = NULL;
    int rc = ctl_call(o, "DELETE", path, NULL, &reply);
    if (rc == CTL_OK && !o->quiet)
        printf("hanging up %s\n", o->args[1]);
    json_decref(reply);
    return rc;
}

int ctl_originate(struct ctl_opts *o)
{
    if (ctl_need_key(o))
        return CTL_USAGE;
    if (!o->tenant || !o->from || !o->to)
        return ctl_usage_error("originate needs --tenant ID --from EXTENSION --to NUMBER");
    char path[256];
    snprintf(path, sizeof path, "/v1/tenants/%s/calls", o->tenant);
    json_t *body = json_pack("{s:s, s:s}", "from", o->from, "to", o->to);
    json_t *reply = NULL;
    int rc = body ? ctl_call(o, "POST", path, body, &reply) : CTL_ERROR;
    json_decref(body);
    if (rc == CTL_OK) {
        const char *uuid = json_string_value(json_object_get(reply, "uuid"));
        printf("%s\n", uuid ? uuid : "");
    }
    json_decref(reply);
    return rc;
}
