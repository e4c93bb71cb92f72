/* /v1/tenants/{id}/users[/{user_id}]: SIP user CRUD inside one tenant. The password is taken
 * only to compute HA1 in the store; neither is ever returned. */
#include "admin/api_internal.h"

static const struct api_field user_fields[] = {
    {"extension", API_F_STRING, 1, 1, 64, api_valid_extension,
     "must match ^[A-Za-z0-9._+-]{1,64}$"},
    {"password", API_F_STRING, 1, 8, 128, NULL, NULL},
    {"display_name", API_F_STRING, 0, 0, 128, NULL, NULL},
    {"enabled", API_F_BOOL, 0, 0, 0, NULL, NULL},
};

static int read_body(struct api_call *c, int creating, struct admin_db_user *u, struct api_reply *r)
{
    struct api_verror verr;
    if (api_validate_object(c->body, user_fields, 4, creating, &verr) != 0) {
        api_reply_invalid(r, &verr);
        return -1;
    }
    u->extension = json_string_value(json_object_get(c->body, "extension"));
    u->password = json_string_value(json_object_get(c->body, "password"));
    u->display_name = json_string_value(json_object_get(c->body, "display_name"));
    json_t *enabled = json_object_get(c->body, "enabled");
    u->enabled = enabled ? json_is_true(enabled) : -1;
    return 0;
}

void api_users_list(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r))
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_user_list(c->db, c->params[0], &out, &err);
    api_reply_result(r, rc, &err, 200, out);
}

void api_users_create(struct api_call *c, struct api_reply *r)
{
    struct admin_db_user u;
    if (!api_tenant_visible(c, r) || read_body(c, 1, &u, r) != 0)
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_user_create(c->db, c->params[0], &u, &out, &err);
    api_reply_result(r, rc, &err, 201, out);
}

void api_user_get(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r))
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_user_get(c->db, c->params[0], c->params[1], &out, &err);
    api_reply_result(r, rc, &err, 200, out);
}

void api_user_update(struct api_call *c, struct api_reply *r)
{
    struct admin_db_user u;
    if (!api_tenant_visible(c, r) || read_body(c, 0, &u, r) != 0)
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_user_update(c->db, c->params[0], c->params[1], &u, &out, &err);
    api_reply_result(r, rc, &err, 200, out);
}

void api_user_delete(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r))
        return;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_user_delete(c->db, c->params[0], c->params[1], &err);
    api_reply_result(r, rc, &err, 204, NULL);
}
