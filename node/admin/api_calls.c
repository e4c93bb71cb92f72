/* GET /v1/tenants/{id}/calls (live calls from Redis), POST (originate: the node serving the
 * request calls "from", then connects it to "to"; 202) and DELETE .../calls/{uuid} (hang-up:
 * the node holding the call's media ends it within a couple of seconds; 202). */
#include "admin/api_internal.h"

#include "common/log.h"
#include "common/mailbox.h"
#include "store/call_query.h"

#include <ctype.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* An extension (as users have) or a dialled number. */
static int valid_party(const char *s, int number)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 64)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(number ? "._+-*#" : "._+-", *s))
            return 0;
    return 1;
}

static int has_extension(json_t *users, const char *ext)
{
    size_t i;
    json_t *u;
    json_array_foreach(users, i, u)
    {
        const char *e = json_string_value(json_object_get(u, "extension"));
        if (e && !strcmp(e, ext))
            return 1;
    }
    return 0;
}

void api_call_originate(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r))
        return;
    const char *key;
    json_t *v;
    json_object_foreach(c->body, key, v)
    {
        if (strcmp(key, "from") && strcmp(key, "to")) {
            api_reply_error(r, 422, "unknown field", key);
            return;
        }
    }
    const char *from = json_string_value(json_object_get(c->body, "from"));
    const char *to = json_string_value(json_object_get(c->body, "to"));
    if (!valid_party(from, 0)) {
        api_reply_error(r, 422, "must be an extension of the tenant", "from");
        return;
    }
    if (!valid_party(to, 1)) {
        api_reply_error(r, 422, "must be an extension or a number (1..64 of 0-9 A-Z . _ + - * #)",
                        "to");
        return;
    }
    if (!api_cluster_quorate(c)) { /* DESIGN 4: no new calls without quorum */
        api_reply_error(r, 503, "this node has no cluster quorum; ask another node", NULL);
        return;
    }
    char domain[256];
    struct admin_db_err err = {0};
    json_t *users = NULL;
    enum admin_db_rc rc = admin_db_tenant_domain(c->db, c->params[0], domain, sizeof domain, &err);
    if (rc == ADMIN_DB_OK)
        rc = admin_db_user_list(c->db, c->params[0], &users, &err);
    if (rc != ADMIN_DB_OK) {
        api_reply_db(r, rc, &err);
        return;
    }
    int known = has_extension(users, from);
    json_decref(users);
    if (!known) {
        api_reply_error(r, 422, "no such extension in this tenant", "from");
        return;
    }
    unsigned char b[16];
    if (!c->orders || RAND_bytes(b, sizeof b) != 1) {
        api_reply_error(r, 503, "calls cannot be originated on this node", NULL);
        return;
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    char uuid[40];
    snprintf(uuid, sizeof uuid,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    json_t *order = json_pack("{s:s, s:s, s:s, s:s, s:s}", "uuid", uuid, "tenant_id", c->params[0],
                              "domain", domain, "from", from, "to", to);
    char *text = order ? json_dumps(order, JSON_COMPACT) : NULL;
    json_decref(order);
    if (!text || mailbox_post(c->orders, text) != 0) {
        free(text);
        api_reply_error(r, 503, "too many calls being originated", NULL);
        return;
    }
    free(text);
    api_reply_json(r, 202, json_pack("{s:s, s:s}", "uuid", uuid, "status", "originating"));
}
