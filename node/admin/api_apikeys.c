/* POST /v1/api-keys: creates a key for a tenant (tenant_id) or a superadmin key (null). A tenant
 * key may only create keys for its own tenant. The key is in this answer and nowhere else. */
#include "admin/api_internal.h"

#include <stdio.h>

static const struct api_field key_fields[] = {
    {"tenant_id", API_F_UUID_OR_NULL, 0, 0, 0, NULL, NULL},
    {"description", API_F_STRING, 0, 0, 256, NULL, NULL},
};

void api_apikeys_create(struct api_call *c, struct api_reply *r)
{
    struct api_verror verr;
    if (api_validate_object(c->body, key_fields, 2, 1, &verr) != 0) {
        api_reply_invalid(r, &verr);
        return;
    }
    char tenant[37] = "";
    const char *t = json_string_value(json_object_get(c->body, "tenant_id"));
    if (t) {
        snprintf(tenant, sizeof tenant, "%s", t);
        api_lowercase(tenant);
    }
    if (!api_is_superadmin(c)) {
        if (!tenant[0]) {
            api_reply_error(r, 403, "only a superadmin key can create superadmin keys",
                            "tenant_id");
            return;
        }
        if (!api_may_see_tenant(c, tenant)) {
            api_reply_error(r, 403, "a tenant key can only create keys for its own tenant",
                            "tenant_id");
            return;
        }
    }
    const char *description = json_string_value(json_object_get(c->body, "description"));
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc =
        admin_db_apikey_create(c->db, tenant[0] ? tenant : NULL, description, &out, &err);
    if (rc != ADMIN_DB_OK)
        api_reply_db(r, rc, &err);
    else
        api_reply_json(r, 201, out);
}
