/* tandemctl cluster: the node's view of the cluster (GET /v1/cluster) as a table of members,
 * with a first line saying the mode, quorum and ring id; --json prints the answer as it is. */
#include "ctl.h"

#include <stdio.h>

static const struct ctl_column member_cols[] = {
    {"NAME", "name"},         {"NODEID", "nodeid"}, {"SERVICE ADDRESS", "service_address"},
    {"SIP PORT", "sip_port"}, {"API", "api_url"},   {"ROLE", "role"},
    {"SELF", "self"},
};

int ctl_cluster(struct ctl_opts *o)
{
    if (ctl_need_key(o))
        return CTL_USAGE;
    json_t *reply = NULL;
    int rc = ctl_call(o, "GET", "/v1/cluster", NULL, &reply);
    if (rc != CTL_OK)
        return rc;
    if (o->json) {
        ctl_print_json(reply);
    } else {
        json_t *members = json_object_get(reply, "members");
        const char *mode = json_string_value(json_object_get(reply, "mode"));
        printf("membership %s, %s, ring %lld, %zu member%s\n", mode ? mode : "?",
               json_is_true(json_object_get(reply, "quorate")) ? "quorate" : "NOT QUORATE",
               (long long)json_integer_value(json_object_get(reply, "ring_id")),
               json_array_size(members), json_array_size(members) == 1 ? "" : "s");
        ctl_print_table(members, member_cols, sizeof member_cols / sizeof member_cols[0]);
    }
    json_decref(reply);
    return CTL_OK;
}
