/* The API's route table: path patterns with {id} segments (UUIDs; anything else is 404) and one
 * handler per method. A known path with an unsupported method answers 405 with Allow. */
#include "admin/api_internal.h"

#include <stdio.h>
#include <string.h>

struct route {
    const char *pattern; /* segments; "*" matches one UUID */
    int needs_auth;
    api_handler get, post, patch, del;
};

static const struct route routes[] = {
    {"/v1/health", 0, api_health, NULL, NULL, NULL},
    {"/v1/tenants", 1, api_tenants_list, api_tenants_create, NULL, NULL},
    {"/v1/tenants/*", 1, api_tenant_get, NULL, api_tenant_update, api_tenant_delete},
    {"/v1/tenants/*/users", 1, api_users_list, api_users_create, NULL, NULL},
    {"/v1/tenants/*/users/*", 1, api_user_get, NULL, api_user_update, api_user_delete},
    {"/v1/tenants/*/registrations", 1, api_registrations, NULL, NULL, NULL},
    {"/v1/tenants/*/calls", 1, api_calls_list, api_call_originate, NULL, NULL},
    {"/v1/tenants/*/calls/*", 1, NULL, NULL, NULL, api_call_hangup},
    {"/v1/tenants/*/cdrs", 1, api_cdrs_list, NULL, NULL, NULL},
    {"/v1/tenants/*/gateways", 1, api_gateways_list, api_gateways_create, NULL, NULL},
    {"/v1/tenants/*/gateways/*", 1, api_gateway_get, NULL, api_gateway_update, api_gateway_delete},
    {"/v1/tenants/*/dids", 1, api_dids_list, api_dids_create, NULL, NULL},
    {"/v1/tenants/*/dids/*", 1, api_did_get, NULL, api_did_update, api_did_delete},
    {"/v1/tenants/*/routes", 1, api_routes_list, api_routes_create, NULL, NULL},
    {"/v1/tenants/*/routes/*", 1, api_route_get, NULL, api_route_update, api_route_delete},
    {"/v1/api-keys", 1, NULL, api_apikeys_create, NULL, NULL},
    {"/v1/cluster", 1, api_cluster, NULL, NULL, NULL},
};

/* Matches url against pattern, filling params with the "*" segments: 1 on a match, else 0
 * (an id that is not a UUID does not match, so it ends as 404 like any unknown path). */
static int match(const char *pattern, const char *url, char params[2][37])
{
    int np = 0;
    while (*pattern && *url) {
        if (*pattern != '/' || *url != '/')
            return 0;
        pattern++, url++;
        size_t seg = strcspn(url, "/");
        if (*pattern == '*') {
            if (seg != 36 || np == 2)
                return 0;
            memcpy(params[np], url, 36);
            params[np][36] = '\0';
            if (!api_valid_uuid(params[np]))
                return 0;
            api_lowercase(params[np]);
            np++;
            pattern++;
        } else {
            size_t pseg = strcspn(pattern, "/");
            if (pseg != seg || strncmp(pattern, url, seg) != 0)
                return 0;
            pattern += pseg;
        }
        url += seg;
    }
    return !*pattern && !*url;
}

int api_route(const char *url, struct api_call *c, api_handler *handler, int *needs_auth,
              struct api_reply *r)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const struct route *rt = &routes[i];
        if (match(rt->pattern, url, c->params) != 1)
            continue;
        api_handler h = c->method == API_GET      ? rt->get
                        : c->method == API_POST   ? rt->post
                        : c->method == API_PATCH  ? rt->patch
                        : c->method == API_DELETE ? rt->del
                                                  : NULL;
        if (!h) {
            snprintf(r->allow, sizeof r->allow, "%s%s%s%s", rt->get ? "GET, " : "",
                     rt->post ? "POST, " : "", rt->patch ? "PATCH, " : "",
                     rt->del ? "DELETE, " : "");
            size_t l = strlen(r->allow);
            if (l >= 2)
                r->allow[l - 2] = '\0';
            api_reply_error(r, 405, "method not allowed", NULL);
            return -1;
        }
        *handler = h;
        *needs_auth = rt->needs_auth;
        return 0;
    }
    /* Worded apart from a missing object's 404, so clients (and the spec test) can tell. */
    api_reply_error(r, 404, "no such route", NULL);
    return -1;
}
