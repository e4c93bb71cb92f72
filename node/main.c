/* tandemd: one switch node. Loads the configuration, connects the stores to the signalling
 * loop, opens the SIP transports and the REST API, and runs until SIGTERM or SIGINT. */
#include "admin/api_server.h"
#include "common/config.h"
#include "common/log.h"
#include "common/mailbox.h"
#include "common/node_status.h"
#include "sip/call.h"
#include "sip/heap_trim.h"
#include "sip/sip_server.h"
#include "media/media.h"
#include "membership.h"
#include "store/call_store.h"
#include "store/gateway_store.h"
#include "store/cdr.h"
#include "store/ka_store.h"
#include "store/pg_conn.h"
#include "store/routing_store.h"
#include "store/redis_conn.h"
#include "store/reg_store.h"
#include "store/user_store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>

/* Asynchronous PostgreSQL connections of the signalling loop: each has one query in flight,
 * so cold-cache REGISTER bursts are served by several in parallel. */
#define PG_CONNECTIONS 4

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Signal handlers may not touch the loop; a short timer notices the flag instead. */
static void check_stop(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    if (stop_requested)
        su_root_break((su_root_t *)arg);
}

/* The caches PostgreSQL notifications keep honest, one channel each. */
struct caches {
    struct user_store *users;
    struct routing_store *routing;
};

static void on_notify(void *arg, const char *channel, const char *payload)
{
    struct caches *c = arg;
    if (strcmp(channel, "tandem_routing") == 0)
        routing_store_on_notify(c->routing, channel, payload);
    else
        user_store_on_notify(c->users, channel, payload);
}

static void on_connected(void *arg)
{
    struct caches *c = arg;
    user_store_on_connected(c->users);
    routing_store_on_connected(c->routing);
}

static int usage(const char *prog)
{
    fprintf(stderr, "usage: %s [--config FILE] [--check-config]\n", prog);
    return 2;
}

int main(int argc, char **argv)
{
    const char *config_path = "/etc/tandem/tandem.conf";
    int check_only = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            config_path = argv[++i];
        else if (!strcmp(argv[i], "--check-config"))
            check_only = 1;
        else
            return usage(argv[0]);
    }

    static struct tandem_config cfg;
    char err[1024];
    config_defaults(&cfg);
    if (config_load(&cfg, config_path, err, sizeof err) != 0) {
        fprintf(stderr, "tandemd: configuration error: %s\n", err);
        return 2;
    }
    if (!cfg.media_address[0]) {
        if (strlen(cfg.sip_address) >= sizeof cfg.media_address) {
            fprintf(stderr, "tandemd: configuration error: media.address: set it explicitly\n");
            return 2;
        }
        memcpy(cfg.media_address, cfg.sip_address, strlen(cfg.sip_address) + 1);
    }
    if (check_only) {
        printf("%s: configuration OK\n", config_path);
        return 0;
    }
    enum log_level level = LOG_INFO;
    log_level_from_name(cfg.log_level, &level);
    log_set_level(level);
    setvbuf(stderr, NULL, _IOLBF, 0);

    static struct node_status status;
    status.started_at = (long)time(NULL);

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    su_root_t *root = NULL;
    su_timer_t *stop_timer = NULL;
    struct heap_trim *trim = NULL;
    struct user_store *users = NULL;
    struct pg_conn *pg[PG_CONNECTIONS] = {0};
    struct redis_conn *redis = NULL;
    struct reg_store *regs = NULL;
    struct ka_store *kas = NULL;
    struct membership *nodes = NULL;
    struct call_store *call_records = NULL;
    struct media_engine *media = NULL;
    struct sip_server *sip = NULL;
    struct api_server *api = NULL;
    struct cdr_writer *cdrs = NULL;
    struct routing_store *routing = NULL;
    struct mailbox *orders = NULL;
    struct gateway_store *gateways = NULL;

    if (su_init() != 0) {
        log_error(NULL, "sofia-sip initialisation failed");
        return 1;
    }
    root = su_root_create(NULL);
    if (!root)
        goto out;

    users = user_store_create(cfg.registrar_user_cache_seconds);
    routing = routing_store_create();
    struct caches caches = {users, routing};
    struct pg_statement statements[8];
    int nstatements = 0;
    for (int i = 0; i < user_store_nstatements; i++)
        statements[nstatements++] = user_store_statements[i];
    for (int i = 0; i < routing_store_nstatements; i++)
        statements[nstatements++] = routing_store_statements[i];
    struct pg_conn_options pgo = {
        .conninfo = cfg.postgres_conninfo,
        .timeout_ms = cfg.redis_timeout_ms > 2000 ? cfg.redis_timeout_ms : 2000,
        .up = &status.postgres_up,
        .listen_channel = "tandem_directory,tandem_routing",
        .on_notify = on_notify,
        .on_connected = on_connected,
        .arg = &caches,
        .statements = statements,
        .nstatements = nstatements,
    };
    /* One connection LISTENs for cache invalidations; the others only answer lookups. */
    int pg_ok = users && routing;
    for (int i = 0; pg_ok && i < PG_CONNECTIONS; i++) {
        pg[i] = pg_conn_create(root, &pgo);
        pg_ok = pg[i] != NULL;
        pgo.listen_channel = NULL;
        pgo.on_notify = NULL;
        pgo.on_connected = NULL;
        pgo.up = NULL;
    }
    struct redis_conn_options ro = {
        .host = cfg.redis_host,
        .port = cfg.redis_port,
        .password = cfg.redis_password,
        .timeout_ms = cfg.redis_timeout_ms,
        .up = &status.redis_up,
        .sentinels = cfg.redis_sentinels,
        .nsentinels = cfg.redis_nsentinels,
        .master_name = cfg.redis_master_name,
        .sentinel_password = cfg.redis_sentinel_password,
    };
    redis = redis_conn_create(root, &ro);
    regs = redis ? reg_store_create(redis) : NULL;
    kas = redis ? ka_store_create(redis) : NULL;
    call_records = redis ? call_store_create(redis) : NULL;
    gateways = redis ? gateway_store_create(redis) : NULL;
    if (!users || !pg_ok || !redis || !regs || !kas || !call_records || !gateways) {
        log_error(NULL, "out of memory while starting the stores");
        goto out;
    }
    nodes = membership_create(root, &cfg, redis, err, sizeof err);
    if (!nodes) {
        log_error(NULL, "membership: %s", err);
        goto out;
    }
    user_store_attach(users, pg, PG_CONNECTIONS);
    routing_store_attach(routing, pg, PG_CONNECTIONS);

    struct media_config mc = {.port_min = cfg.media_port_min,
                              .port_max = cfg.media_port_max,
                              .max_sessions = cfg.media_max_sessions,
                              .threads = cfg.media_threads};
    snprintf(mc.address, sizeof mc.address, "%s", cfg.media_address);
    media = media_engine_create(&mc, err, sizeof err);
    if (!media) {
        log_error(NULL, "media: %s", err);
        goto out;
    }
    cdrs = cdr_writer_start(cfg.postgres_conninfo, cfg.cdr_spool_path, cfg.cdr_batch_max,
                            cfg.cdr_flush_ms, err, sizeof err);
    if (!cdrs) {
        log_error(NULL, "CDR: %s", err);
        goto out;
    }
    struct sip_server_deps deps = {.users = users,
                                   .regs = regs,
                                   .kas = kas,
                                   .nodes = nodes,
                                   .calls = call_records,
                                   .media = media,
                                   .cdrs = cdrs,
                                   .routing = routing,
                                   .gateways = gateways};
    sip = sip_server_create(root, &cfg, &status, &deps, err, sizeof err);
    orders = sip ? mailbox_create(root, calls_originate, sip_server_calls(sip)) : NULL;
    if (!sip) {
        log_error(NULL, "SIP: %s", err);
        goto out;
    }
    if (cfg.api_port) {
        api = api_server_start(&cfg, &status, orders, nodes, err, sizeof err);
        if (!api) {
            log_error(NULL, "REST API: %s", err);
            goto out;
        }
    }

    stop_timer = su_timer_create(su_root_task(root), 100);
    if (!stop_timer)
        goto out;
    su_timer_set_for_ever(stop_timer, check_stop, (su_timer_arg_t *)root);
    /* without it the node runs on, its RSS only higher after bursts */
    trim = heap_trim_start(root, calls_deps(sip_server_calls(sip))->agent);
    log_info(NULL, "node %s started", cfg.node_id);
    su_root_run(root);
    log_info(NULL, "node %s stopping", cfg.node_id);
    rc = 0;

out:
    api_server_stop(api); /* before the mailbox: no more orders */
    mailbox_destroy(orders);
    if (stop_timer)
        su_timer_destroy(stop_timer);
    heap_trim_stop(trim);
    /* Stores first: their pending callbacks still answer the SIP transactions they hold. */
    redis_conn_destroy(redis);
    for (int i = 0; i < PG_CONNECTIONS; i++)
        pg_conn_destroy(pg[i]);
    sip_server_destroy(sip); /* releases the calls' media sessions before the engine goes */
    cdr_writer_stop(cdrs);   /* after the calls: their CDRs are in its queue */
    media_engine_destroy(media);
    call_store_destroy(call_records);
    gateway_store_destroy(gateways);
    reg_store_destroy(regs);
    ka_store_destroy(kas);
    membership_destroy(nodes);
    user_store_destroy(users);
    routing_store_destroy(routing);
    if (root)
        su_root_destroy(root);
    su_deinit();
    return rc;
}
