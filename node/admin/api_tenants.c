/* /v1/tenants and /v1/tenants/{id}: tenant CRUD. Only a superadmin key creates or deletes
 * tenants; a tenant key sees and edits only its own (others answer 404, as if absent). */
#include "admin/api_internal.h"

#include <string.h>

static const struct api_field tenant_fields[] = {
    {"name", API_F_STRING, 1, 1, 128, NULL, NULL},
    {"domain", API_F_STRING, 1, 1, 253, api_valid_domain, "must be a DNS name"},
};

/* Validates the body; on success name/domain point into c->body (domain lowercased). */
static int read_body(struct api_call *c, int creating, const char **name, char *domain,
                     size_t domlen, struct api_reply *r)
{
    struct api_verror verr;
    if (api_validate_object(c->body, tenant_fields, 2, creating, &verr) != 0) {
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
    if (read_body(c, 1, &name, domain, sizeof domain, r) != 0)
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_tenant_create(c->db, name, domain, &out, &err);
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
    if (read_body(c, 0, &name, domain, sizeof domain, r) != 0)
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc =
        admin_db_tenant_update(c->db, c->params[0], name, domain[0] ? domain : NULL, &out, &err);
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
