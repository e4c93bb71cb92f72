/* GET /v1/cluster (superadmin): this node's view of the cluster — the live members with what
 * they announce, whether this node is quorate, the ring id and the membership mode. Read from
 * the copy the signalling loop publishes (membership_view_get), never from the loop itself. */
#include "admin/api_internal.h"

#include "common/config.h"
#include "membership.h"

#include <string.h>

/* 1 when this node may take new calls (quorate, or no membership known); for originate. */
int api_cluster_quorate(const struct api_call *c)
{
    struct membership_view v;
    if (!c->cluster || membership_view_get(c->cluster, &v) != 0)
        return 1;
    int q = v.quorate;
    membership_view_free(&v);
    return q;
}

void api_cluster(struct api_call *c, struct api_reply *r)
{
    if (!api_is_superadmin(c)) {
        api_reply_error(r, 403, "the cluster view needs a superadmin key", NULL);
        return;
    }
    if (!c->cluster) {
        api_reply_error(r, 503, "membership is not available on this node", NULL);
        return;
    }
    struct membership_view v;
    if (membership_view_get(c->cluster, &v) != 0) {
        api_reply_error(r, 500, "out of memory", NULL);
        return;
    }
    json_t *members = json_array();
    int ok = members != NULL;
    for (size_t i = 0; ok && i < v.n; i++) {
        const struct member *mb = &v.members[i];
        json_t *o =
            json_pack("{s:s, s:I, s:s, s:i, s:s?, s:s, s:b}", "name", mb->name, "nodeid",
                      (json_int_t)mb->nodeid, "service_address", mb->service_address, "sip_port",
                      mb->sip_port, "api_url", mb->api_url[0] ? mb->api_url : NULL, "role",
                      mb->role, "self", strcmp(mb->name, c->cfg->node_id) == 0);
        ok = o && json_array_append_new(members, o) == 0;
    }
    json_t *out =
        ok ? json_pack("{s:s, s:b, s:I, s:O, s:s}", "mode", v.mode, "quorate", v.quorate, "ring_id",
                       (json_int_t)v.ring_id, "members", members, "node", c->cfg->node_id)
           : NULL;
    membership_view_free(&v);
    json_decref(members);
    if (!out) {
        api_reply_error(r, 500, "out of memory", NULL);
        return;
    }
    api_reply_json(r, 200, out);
}
