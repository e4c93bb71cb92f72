/* tandemctl cdrs: one page of a tenant's call detail records as a table (or the API's JSON with
 * --json). Query values are percent-encoded: a time's "+01:00" would otherwise read as a space. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

static const struct ctl_column cdr_cols[] = {
    {"START", "start_at"},      {"CALLER", "caller"},   {"CALLEE", "callee_dialled"},
    {"STATUS", "sip_status"},   {"Q850", "q850_cause"}, {"BILLSEC_MS", "billsec_ms"},
    {"HANGUP BY", "hangup_by"}, {"NODE", "node"},       {"CALL UUID", "call_uuid"},
};

/* Appends "&name=value" (value percent-encoded) to path; -1 when it does not fit. */
static int add_arg(char *path, size_t len, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t used = strlen(path);
    int n = snprintf(path + used, len - used, "%c%s=", strchr(path, '?') ? '&' : '?', name);
    if (n < 0 || (size_t)n >= len - used)
        return -1;
    used += (size_t)n;
    for (const unsigned char *v = (const unsigned char *)value; *v; v++) {
        int plain = (*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') ||
                    (*v >= '0' && *v <= '9') || strchr("-._~:", *v);
        if (used + (plain ? 1 : 3) >= len)
            return -1;
        if (plain) {
            path[used++] = (char)*v;
        } else {
            path[used++] = '%';
            path[used++] = hex[*v >> 4];
            path[used++] = hex[*v & 15];
        }
    }
    path[used] = '\0';
    return 0;
}

int ctl_cdrs(struct ctl_opts *o)
{
    if (ctl_need_key(o))
        return CTL_USAGE;
    if (!o->tenant)
        return ctl_usage_error("cdrs needs --tenant ID");
    char path[1024];
    snprintf(path, sizeof path, "/v1/tenants/%s/cdrs", o->tenant);
    const char *names[] = {"from", "to", "page", "per_page"};
    const char *values[] = {o->from, o->to, o->page, o->per_page};
    for (size_t i = 0; i < 4; i++)
        if (values[i] && add_arg(path, sizeof path, names[i], values[i]) != 0)
            return ctl_usage_error("--%s: value too long", names[i]);
    json_t *reply = NULL;
    int rc = ctl_call(o, "GET", path, NULL, &reply);
    if (rc != CTL_OK)
        return rc;
    if (o->json) {
        ctl_print_json(reply);
    } else {
        ctl_print_table(json_object_get(reply, "items"), cdr_cols,
                        sizeof cdr_cols / sizeof cdr_cols[0]);
        json_t *next = json_object_get(reply, "next_page");
        if (json_is_integer(next))
            fprintf(stderr, "(more: --page %lld)\n", (long long)json_integer_value(next));
    }
    json_decref(reply);
    return CTL_OK;
}
