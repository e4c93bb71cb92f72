/* /v1/tenants and /v1/tenants/{id}: tenant CRUD. Only a superadmin key creates or deletes
 * tenants; a tenant key sees and edits only its own (others answer 404, as if absent). */
#include "admin/api_internal.h"

#include <stdio.h>
#include <string.h>

static const struct api_field tenant_fields[] = {
    {"name", API_F_STRING, 1, 1, 128, NULL, NULL},
    {"domain", API_F_STRING, 1, 1, 253, api_valid_domain, "must be a DNS name"},
    {"max_calls", API_F_INT_OR_NULL, 0, 1, 1000000, NULL, NULL},
    {"max_cps", API_F_CUSTOM, 0, 0, 0, NULL, NULL}, /* checked in read_limits */
};

/* max_calls / max_cps from the (validated) body, as text for the store; buffers hold them. */
static int read_limits(struct api_call *c, struct admin_db_tenant_limits *lim, char *calls,
                       char *cps, size_t len, struct api_reply *r)
{
    const json_t *v = json_object_get(c->body, "max_cps");
    if (v && !json_is_null(v) &&
        (!json_is_number(v) || json_number_value(v) <= 0 || json_number_value(v) > 100000)) {
        struct api_verror verr;
        api_verror_set(&verr, "max_cps", "must be a number above 0 and up to 100000, or null");
        api_reply_invalid(r, &verr);
        return -1;
    }
    memset(lim, 0, sizeof *lim);
    if (v) {
        lim->set_cps = 1;
        if (!json_is_null(v)) {
            snprintf(cps, len, "%.6g", json_number_value(v));
            lim->max_cps = cps;
        }
    }
    v = json_object_get(c->body, "max_calls");
    if (v) {
        lim->set_calls = 1;
        if (!json_is_null(v)) {
            snprintf(calls, len, "%lld", (long long)json_integer_value(v));
            lim->max_calls = calls;
        }
    }
    return 0;
}

/* Validates the body; on success name/domain point into c->body (domain lowercased). */
static int read_body(struct api_call *c, int creating, const char **name, char *domain,
                     size_t domlen, struct api_reply *r)
{
    struct api_verror verr;
    if (api_validate_object(c->body, tenant_fields, 4, creating, &verr) != 0) {
        api_reply_invalid(r, &verr);
        return -1;
    }
    *name = json_string_value(json_object_get(c->body, "name"));
    const char *d = json_string_value(json_object_get(c->body, "domain"));
    domain[0] = '\0';
    if (d) {
        strncpy(domain, d, domlen - 1);
        domain[domlen - 1] = '\0';
        api_lowercase(domain);
    }
    return 0;
}

void api_tenants_list(struct api_call *c, struct api_reply *r)
{
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc =
        admin_db_tenant_list(c->db, api_is_superadmin(c) ? NULL : c->key.tenant_id, &out, &err);
    if (rc != ADMIN_DB_OK)
        api_reply_db(r, rc, &err);
    else
        api_reply_json(r, 200, out);
}

void api_tenants_create(struct api_call *c, struct api_reply *r)
{
    if (!api_is_superadmin(c)) {
        api_reply_error(r, 403, "only a superadmin key can create tenants", NULL);
        return;
    }
    const char *name;
    char domain[254];
    struct admin_db_tenant_limits lim;
    char calls[24], cps[32];
    if (read_body(c, 1, &name, domain, sizeof domain, r) != 0 ||
        read_limits(c, &lim, calls, cps, sizeof cps, r) != 0)
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_tenant_create(c->db, name, domain, &lim, &out, &err);
    if (rc != ADMIN_DB_OK)
        api_reply_db(r, rc, &err);
    else
        api_reply_json(r, 201, out);
}

void api_tenant_get(struct api_call *c, struct api_reply *r)
{
    if (!api_may_see_tenant(c, c->params[0])) {
        api_reply_error(r, 404, "not found", NULL);
        return;
    }
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_tenant_get(c->db, c->params[0], &out, &err);
    if (rc != ADMIN_DB_OK)
        api_reply_db(r, rc, &err);
    else
        api_reply_json(r, 200, out);
}

void api_tenant_update(struct api_call *c, struct api_reply *r)
{
    if (!api_may_see_tenant(c, c->params[0])) {
        api_reply_error(r, 404, "not found", NULL);
        return;
    }
    const char *name;
    char domain[254];
    struct admin_db_tenant_limits lim;
    char calls[24], cps[32];
    if (read_body(c, 0, &name, domain, sizeof domain, r) != 0 ||
        read_limits(c, &lim, calls, cps, sizeof cps, r) != 0)
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_tenant_update(c->db, c->params[0], name,
                                                 domain[0] ? domain : NULL, &lim, &out, &err);
    if (rc != ADMIN_DB_OK)
        api_reply_db(r, rc, &err);
    else
        api_reply_json(r, 200, out);
}

void api_tenant_delete(struct api_call *c, struct api_reply *r)
{
    if (!api_may_see_tenant(c, c->params[0])) {
        api_reply_error(r, 404, "not found", NULL);
        return;
    }
    if (!api_is_superadmin(c)) {
        api_reply_error(r, 403, "only a superadmin key can delete tenants", NULL);
        return;
    }
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_tenant_delete(c->db, c->params[0], &err);
    if (rc != ADMIN_DB_OK)
        api_reply_db(r, rc, &err);
    else
        api_reply_json(r, 204, NULL);
}
