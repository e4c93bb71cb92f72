/* /v1/tenants/{id}/gateways[/{gateway_id}]: outbound SIP gateways of a tenant. The password is
 * write-only: answers carry "has_password" (true/false) instead; 409 deleting one a route uses. */
#include "admin/api_internal.h"

static int valid_body(struct api_call *c, int creating, struct api_reply *r)
{
    struct api_verror verr;
    if (api_validate_gateway(c->body, creating, &verr) == 0)
        return 1;
    api_reply_invalid(r, &verr);
    return 0;
}

void api_gateways_list(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r))
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_gateway_list(c->db, c->params[0], &out, &err);
    api_reply_result(r, rc, &err, 200, out);
}

void api_gateways_create(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r) || !valid_body(c, 1, r))
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_gateway_create(c->db, c->params[0], c->body, &out, &err);
    api_reply_result(r, rc, &err, 201, out);
}

void api_gateway_get(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r))
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_gateway_get(c->db, c->params[0], c->params[1], &out, &err);
    api_reply_result(r, rc, &err, 200, out);
}

void api_gateway_update(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r) || !valid_body(c, 0, r))
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc =
        admin_db_gateway_update(c->db, c->params[0], c->params[1], c->body, &out, &err);
    api_reply_result(r, rc, &err, 200, out);
}

void api_gateway_delete(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r))
        return;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_gateway_delete(c->db, c->params[0], c->params[1], &err);
    api_reply_result(r, rc, &err, 204, NULL);
}
