/* tandemd's configuration: one flat "key = value" file, every key listed in docs/configuration.md.
 * A bad key or value stops start-up with file, line, key and reason. */
#ifndef TANDEM_CONFIG_H
#define TANDEM_CONFIG_H

#include <stddef.h>

#define CONFIG_STR_MAX 256
#define CONFIG_SENTINELS_MAX 8

/* One "host:port" (or "[v6]:port") of a list such as redis.sentinels. */
struct config_hostport {
    char host[128];
    int port;
};

struct tandem_config {
    char node_id[64];
    char log_level[16];

    char sip_address[CONFIG_STR_MAX];
    int sip_port;
    int sip_udp;
    int sip_tcp;
    int sip_udp_rcvbuf;                    /* bytes; the kernel caps it at net.core.rmem_max */
    int sip_tls_port;                      /* 0: no TLS */
    char sip_tls_cert_dir[CONFIG_STR_MAX]; /* holds agent.pem (key + chain) and cafile.pem */

    char api_address[CONFIG_STR_MAX];
    int api_port; /* 0 disables the REST API on this node */
    int api_max_body;

    char redis_host[CONFIG_STR_MAX];
    int redis_port;
    char redis_password[CONFIG_STR_MAX];
    int redis_timeout_ms;
    /* Non-empty: the master's address comes from these Sentinels, redis.host/port are unused. */
    struct config_hostport redis_sentinels[CONFIG_SENTINELS_MAX];
    int redis_nsentinels;
    char redis_master_name[128];
    char redis_sentinel_password[CONFIG_STR_MAX];

    char postgres_conninfo[1024];

    int registrar_min_expires;
    int registrar_max_expires;
    int registrar_default_expires;
    int registrar_max_contacts;
    int registrar_user_cache_seconds;

    char auth_nonce_secret[CONFIG_STR_MAX];
    int auth_nonce_lifetime;

    int security_rate_limit; /* requests per second per source address, 0 = off */
    int security_rate_burst;
    int security_ban_failures; /* authentication failures that trigger a ban, 0 = off */
    int security_ban_window;   /* seconds over which failures are counted */
    int security_ban_seconds;

    char media_address[64]; /* empty: the same as sip.address */
    int media_port_min, media_port_max;
    int media_max_sessions;
    int media_threads;
    int media_timeout;      /* seconds without RTP from either party that end a call; 0 = off */
    int media_hold_timeout; /* the same while the call is on hold */

    int calls_answer_timeout;  /* seconds a call to an extension may ring */
    int calls_session_expires; /* RFC 4028 interval the node asks for; 0: only when a caller does */
    int calls_min_se;          /* shortest Session-Expires accepted (422 below) */
    int calls_slot_lease;      /* seconds a gateway/tenant call slot lasts unless renewed */

    int nat_keepalive_interval; /* seconds, 0 = off */
    int nat_keepalive_failures;

    char cdr_spool_path[512]; /* CDRs wait here while PostgreSQL is unreachable */
    int cdr_batch_max;        /* rows per INSERT */
    int cdr_flush_ms;         /* longest a CDR waits for its batch to fill */

    char cluster_membership[16];      /* "redis" or "corosync" (cluster/membership.h) */
    char cluster_group[64];           /* CPG group name */
    char cluster_role[16];            /* announced role: "switch" */
    char cluster_service_address[64]; /* announced; empty: sip.address */
    char cluster_api_url[128];        /* announced; empty: from api.address and api.port */
    int cluster_dead_after_ms;        /* redis mode: heartbeat age that means dead */
    int cluster_retry_ms;             /* corosync mode: reconnect interval after a loss */
    int cluster_retry_after;          /* Retry-After of the 503 without quorum */
    char cluster_failover[16];        /* "vip", "reinvite" or "off": how a dead node's calls move */
    char cluster_vip_interface[32];   /* interface a taken-over address goes on; "": none to add */
    int cluster_vip_prefix;
    int cluster_fence_after_ms; /* quorum lost this long: the node lets its calls go */
};

void config_defaults(struct tandem_config *cfg);

/* Applies one "key = value" setting; on error writes the reason into err and returns -1. */
int config_set(struct tandem_config *cfg, const char *key, const char *value, char *err,
               size_t errlen);

/* Parses a comma-separated "host:port" list (spaces allowed around items; "" gives 0 items).
 * Returns the number of items, or -1 with the reason in err. */
int config_parse_hostports(const char *list, struct config_hostport *out, int max, char *err,
                           size_t errlen);

/* Checks relations between keys (min <= default <= max ...); same error convention. */
int config_check(const struct tandem_config *cfg, char *err, size_t errlen);

/* Loads a file over the defaults. On error err reads "file:line: key: reason". */
int config_load(struct tandem_config *cfg, const char *path, char *err, size_t errlen);

#endif
