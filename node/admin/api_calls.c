/* GET /v1/tenants/{id}/calls (live calls from Redis) and DELETE /v1/tenants/{id}/calls/{uuid}
 * (hang-up: the node holding the call's media ends it within a couple of seconds; 202). */
#include "admin/api_internal.h"

#include "common/log.h"
#include "store/call_query.h"

void api_calls_list(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r))
        return;
    char why[256];
    json_t *out = call_query_tenant(c->rq, c->params[0], why, sizeof why);
    if (!out) {
        log_warn(NULL, "api: calls of tenant %s: %s", c->params[0], why);
        api_reply_error(r, 503, "call store unavailable", NULL);
        return;
    }
    api_reply_json(r, 200, out);
}

void api_call_hangup(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r))
        return;
    char why[256];
    switch (call_query_hangup(c->rq, c->params[0], c->params[1], why, sizeof why)) {
    case 0:
        api_reply_json(r, 202,
                       json_pack("{s:s, s:s}", "uuid", c->params[1], "status", "hanging up"));
        return;
    case 1:
        api_reply_error(r, 404, "not found", NULL);
        return;
    default:
        log_warn(NULL, "api: hang-up of %s: %s", c->params[1], why);
        api_reply_error(r, 503, "call store unavailable", NULL);
        return;
    }
}
