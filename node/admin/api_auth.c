/* API key authentication: "Authorization: Bearer <key>" looked up by its SHA-256 in
 * PostgreSQL on every request (no cache, so a deleted key stops working at once). */
#include "admin/api_internal.h"

#include <string.h>
#include <strings.h>

int api_authenticate(struct api_call *c, const char *authorization, struct api_reply *r)
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0) {
        api_reply_error(r, 401, "missing API key (Authorization: Bearer <key>)", NULL);
        return -1;
    }
    const char *key = authorization + 7;
    while (*key == ' ')
        key++;
    if (!*key || strlen(key) > 128) {
        api_reply_error(r, 401, "invalid API key", NULL);
        return -1;
    }
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_apikey_lookup(c->db, key, &c->key, &err);
    if (rc == ADMIN_DB_NOT_FOUND) {
        api_reply_error(r, 401, "invalid API key", NULL);
        return -1;
    }
    if (rc != ADMIN_DB_OK) {
        api_reply_db(r, rc, &err);
        return -1;
    }
    return 0;
}

int api_is_superadmin(const struct api_call *c)
{
    return c->key.tenant_id[0] == '\0';
}

int api_may_see_tenant(const struct api_call *c, const char *tenant_id)
{
    return api_is_superadmin(c) || !strcmp(c->key.tenant_id, tenant_id);
}
