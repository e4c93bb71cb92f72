/* /v1/tenants/{id}/dids[/{did_id}]: inbound numbers of a tenant, each
 * pointing at an extension. A number is unique across all tenants (409 on "number"). */
#include "admin/api_internal.h"

static int valid_body(struct api_call *c, int creating, struct api_reply *r)
{
    struct api_verror verr;
    if (api_validate_did(c->body, creating, &verr) == 0)
        return 1;
    api_reply_invalid(r, &verr);
    return 0;
}

void api_dids_list(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r))
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_did_list(c->db, c->params[0], &out, &err);
    api_reply_result(r, rc, &err, 200, out);
}

void api_dids_create(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r) || !valid_body(c, 1, r))
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_did_create(c->db, c->params[0], c->body, &out, &err);
    api_reply_result(r, rc, &err, 201, out);
}

void api_did_get(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r))
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_did_get(c->db, c->params[0], c->params[1], &out, &err);
    api_reply_result(r, rc, &err, 200, out);
}

void api_did_update(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r) || !valid_body(c, 0, r))
        return;
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc =
        admin_db_did_update(c->db, c->params[0], c->params[1], c->body, &out, &err);
    api_reply_result(r, rc, &err, 200, out);
}

void api_did_delete(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r))
        return;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_did_delete(c->db, c->params[0], c->params[1], &err);
    api_reply_result(r, rc, &err, 204, NULL);
}
