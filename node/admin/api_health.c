/* GET /v1/health: this node's view of its stores, without authentication, for load balancers
 * and Nagios. A store is "up" only when both the API's own probe and the signalling loop
 * (struct node_status) reach it; 503 when either store is down. Quorum is shown, not judged:
 * a node without it still serves registrations and its calls, so it stays "ok". */
#include "admin/api_internal.h"

#include "common/config.h"
#include "common/node_status.h"
#include "store/reg_query.h"

void api_health(struct api_call *c, struct api_reply *r)
{
    int pg = admin_db_ping(c->db) == ADMIN_DB_OK;
    int redis = reg_query_ping(c->rq) == 0;
    if (c->status) {
        pg = pg && atomic_load(&c->status->postgres_up);
        redis = redis && atomic_load(&c->status->redis_up);
    }
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b}", "status", pg && redis ? "ok" : "degraded",
                          "node", c->cfg->node_id, "redis", redis ? "up" : "down", "postgres",
                          pg ? "up" : "down", "quorate", api_cluster_quorate(c));
    api_reply_json(r, pg && redis ? 200 : 503, o);
}
