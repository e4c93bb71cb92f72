/* /v1/tenants/{id}/routes[/{route_id}]: outbound routes of a tenant: a
 * POSIX regex on the dialled number and the tenant's gateways to try, in order. */
#include "admin/api_internal.h"

static int valid_body(struct api_call *c, int creating, struct api_reply *r)
{
    struct api_verror verr;
    if (api_validate_route(c->body, creating, &verr) == 0)
        return 1;
    api_reply_invalid(r, &verr);
    return 0;
}

void api_routes_list(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r))
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_route_list(c->db, c->params[0], &out, &err);
    api_reply_result(r, rc, &err, 200, out);
}

void api_routes_create(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r) || !valid_body(c, 1, r))
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_route_create(c->db, c->params[0], c->body, &out, &err);
    api_reply_result(r, rc, &err, 201, out);
}

void api_route_get(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r))
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_route_get(c->db, c->params[0], c->params[1], &out, &err);
    api_reply_result(r, rc, &err, 200, out);
}

void api_route_update(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r) || !valid_body(c, 0, r))
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc =
        admin_db_route_update(c->db, c->params[0], c->params[1], c->body, &out, &err);
    api_reply_result(r, rc, &err, 200, out);
}

void api_route_delete(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r))
        return;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_route_delete(c->db, c->params[0], c->params[1], &err);
    api_reply_result(r, rc, &err, 204, NULL);
}
