/* GET /v1/tenants/{id}/registrations: the tenant's live bindings, read from Redis through
 * reg_query (the tenant's domain comes from PostgreSQL). 503 when Redis is unreachable. */
#include "admin/api_internal.h"

#include "common/log.h"
#include "store/reg_query.h"

void api_registrations(struct api_call *c, struct api_reply *r)
{
    if (!api_may_see_tenant(c, c->params[0])) {
        api_reply_error(r, 404, "not found", NULL);
        return;
    }
    char domain[256];
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_tenant_domain(c->db, c->params[0], domain, sizeof domain, &err);
    if (rc != ADMIN_DB_OK) {
        api_reply_db(r, rc, &err);
        return;
    }
    char why[256];
    json_t *out = reg_query_domain(c->rq, domain, why, sizeof why);
    if (!out) {
        log_warn(NULL, "api: registrations of %s: %s", domain, why);
        api_reply_error(r, 503, "registration store unavailable", NULL);
        return;
    }
    api_reply_json(r, 200, out);
}
