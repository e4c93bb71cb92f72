/* Building API replies: JSON bodies and the error shape {"error": "...", "field": "..."},
 * including the mapping of admin store results to HTTP statuses. */
#include "admin/api_internal.h"

void api_reply_json(struct api_reply *r, int status, json_t *body)
{
    json_decref(r->body);
    r->status = status;
    r->body = body;
}

void api_reply_error(struct api_reply *r, int status, const char *message, const char *field)
{
    json_t *o = json_object();
    if (o) {
        json_object_set_new(o, "error", json_string(message));
        if (field && *field)
            json_object_set_new(o, "field", json_string(field));
    }
    api_reply_json(r, status, o);
}

void api_reply_db(struct api_reply *r, enum admin_db_rc rc, const struct admin_db_err *err)
{
    switch (rc) {
    case ADMIN_DB_OK:
        api_reply_error(r, 500, "internal error", NULL);
        return;
    case ADMIN_DB_NOT_FOUND:
        api_reply_error(r, 404, "not found", NULL);
        return;
    case ADMIN_DB_CONFLICT:
        api_reply_error(r, 409, err->message, err->field);
        return;
    case ADMIN_DB_INVALID:
        api_reply_error(r, 422, err->message, err->field);
        return;
    case ADMIN_DB_UNAVAILABLE:
        api_reply_error(r, 503, "database unavailable", NULL);
        return;
    case ADMIN_DB_ERROR:
        break;
    }
    api_reply_error(r, 500, "internal error", NULL);
}

void api_reply_invalid(struct api_reply *r, const struct api_verror *err)
{
    api_reply_error(r, 422, err->message, err->field);
}

void api_reply_result(struct api_reply *r, enum admin_db_rc rc, const struct admin_db_err *err,
                      int status, json_t *out)
{
    if (rc != ADMIN_DB_OK)
        api_reply_db(r, rc, err);
    else
        api_reply_json(r, status, out);
}

int api_tenant_visible(const struct api_call *c, struct api_reply *r)
{
    if (api_may_see_tenant(c, c->params[0]))
        return 1;
    api_reply_error(r, 404, "not found", NULL);
    return 0;
}
