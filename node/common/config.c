/* Parses and validates tandemd's configuration file against a table of known keys.
 * The table is the single list of keys: defaults, ranges and parsing all come from it. */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum key_type { KEY_STRING, KEY_INT, KEY_BOOL, KEY_LOGLEVEL, KEY_SENTINELS };

struct config_key {
    const char *name;
    enum key_type type;
    size_t offset;
    size_t size; /* for strings: buffer size */
    long min, max;
};

#define STR(name, field)                                                                           \
    {                                                                                              \
        name, KEY_STRING, offsetof(struct tandem_config, field),                                   \
            sizeof(((struct tandem_config *)0)->field), 0, 0                                       \
    }
#define INT(name, field, lo, hi)                                                                   \
    {                                                                                              \
        name, KEY_INT, offsetof(struct tandem_config, field), sizeof(int), lo, hi                  \
    }
#define BOOL(name, field)                                                                          \
    {                                                                                              \
        name, KEY_BOOL, offsetof(struct tandem_config, field), sizeof(int), 0, 1                   \
    }

static const struct config_key keys[] = {
    STR("node.id", node_id),
    {"log.level", KEY_LOGLEVEL, offsetof(struct tandem_config, log_level),
     sizeof(((struct tandem_config *)0)->log_level), 0, 0},
    STR("sip.address", sip_address),
    INT("sip.port", sip_port, 1, 65535),
    BOOL("sip.udp", sip_udp),
    BOOL("sip.tcp", sip_tcp),
    INT("sip.udp_rcvbuf", sip_udp_rcvbuf, 65536, 268435456),
    INT("sip.tls_port", sip_tls_port, 0, 65535),
    STR("sip.tls_cert_dir", sip_tls_cert_dir),
    STR("api.address", api_address),
    INT("api.port", api_port, 0, 65535),
    INT("api.max_body", api_max_body, 256, 1048576),
    STR("redis.host", redis_host),
    INT("redis.port", redis_port, 1, 65535),
    STR("redis.password", redis_password),
    INT("redis.timeout_ms", redis_timeout_ms, 10, 60000),
    {"redis.sentinels", KEY_SENTINELS, offsetof(struct tandem_config, redis_sentinels), 0, 0, 0},
    STR("redis.master_name", redis_master_name),
    STR("redis.sentinel_password", redis_sentinel_password),
    STR("postgres.conninfo", postgres_conninfo),
    INT("registrar.min_expires", registrar_min_expires, 1, 86400),
    INT("registrar.max_expires", registrar_max_expires, 1, 604800),
    INT("registrar.default_expires", registrar_default_expires, 1, 604800),
    INT("registrar.max_contacts", registrar_max_contacts, 1, 100),
    INT("registrar.user_cache_seconds", registrar_user_cache_seconds, 0, 86400),
    STR("auth.nonce_secret", auth_nonce_secret),
    INT("auth.nonce_lifetime", auth_nonce_lifetime, 5, 3600),
    INT("security.rate_limit", security_rate_limit, 0, 1000000),
    INT("security.rate_burst", security_rate_burst, 1, 1000000),
    INT("security.ban_failures", security_ban_failures, 0, 1000),
    INT("security.ban_window", security_ban_window, 1, 86400),
    INT("security.ban_seconds", security_ban_seconds, 1, 604800),
    STR("media.address", media_address),
    INT("media.port_min", media_port_min, 1024, 65534),
    INT("media.port_max", media_port_max, 1025, 65535),
    INT("media.max_sessions", media_max_sessions, 1, 1000000),
    INT("media.threads", media_threads, 1, 64),
    INT("media.timeout", media_timeout, 0, 86400),
    INT("media.hold_timeout", media_hold_timeout, 0, 86400),
    INT("calls.answer_timeout", calls_answer_timeout, 1, 3600),
    INT("calls.session_expires", calls_session_expires, 0, 86400),
    INT("calls.min_se", calls_min_se, 1, 86400),
    INT("calls.slot_lease", calls_slot_lease, 3, 3600),
    INT("nat.keepalive_interval", nat_keepalive_interval, 0, 3600),
    INT("nat.keepalive_failures", nat_keepalive_failures, 1, 100),
    STR("cdr.spool_path", cdr_spool_path),
    INT("cdr.batch_max", cdr_batch_max, 1, 1000),
    INT("cdr.flush_ms", cdr_flush_ms, 10, 60000),
    STR("cluster.membership", cluster_membership),
    STR("cluster.group", cluster_group),
    STR("cluster.role", cluster_role),
    STR("cluster.service_address", cluster_service_address),
    STR("cluster.api_url", cluster_api_url),
    INT("cluster.dead_after_ms", cluster_dead_after_ms, 1500, 600000),
    INT("cluster.retry_ms", cluster_retry_ms, 100, 60000),
    INT("cluster.retry_after", cluster_retry_after, 1, 3600),
    STR("cluster.failover", cluster_failover),
    STR("cluster.vip_interface", cluster_vip_interface),
    INT("cluster.vip_prefix", cluster_vip_prefix, 1, 32),
    INT("cluster.fence_after_ms", cluster_fence_after_ms, 0, 600000),
};

void config_defaults(struct tandem_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    if (gethostname(cfg->node_id, sizeof cfg->node_id - 1) != 0 || !cfg->node_id[0])
        strcpy(cfg->node_id, "node1");
    strcpy(cfg->log_level, "info");
    strcpy(cfg->sip_address, "127.0.0.1");
    cfg->sip_port = 5060;
    cfg->sip_udp = 1;
    cfg->sip_tcp = 1;
    cfg->sip_udp_rcvbuf = 4 * 1024 * 1024;
    strcpy(cfg->api_address, "127.0.0.1");
    cfg->api_port = 8080;
    cfg->api_max_body = 65536;
    strcpy(cfg->redis_host, "127.0.0.1");
    cfg->redis_port = 6379;
    cfg->redis_timeout_ms = 2000;
    strcpy(cfg->redis_master_name, "tandem");
    strcpy(cfg->postgres_conninfo, "dbname=tandem");
    cfg->registrar_min_expires = 60;
    cfg->registrar_max_expires = 3600;
    cfg->registrar_default_expires = 3600;
    cfg->registrar_max_contacts = 10;
    cfg->registrar_user_cache_seconds = 300;
    cfg->auth_nonce_lifetime = 300;
    cfg->security_rate_limit = 500;
    cfg->security_rate_burst = 1000;
    cfg->security_ban_failures = 10;
    cfg->security_ban_window = 60;
    cfg->security_ban_seconds = 600;
    cfg->media_port_min = 30000;
    cfg->media_port_max = 40000;
    cfg->media_max_sessions = 2500;
    cfg->media_threads = 1;
    cfg->media_timeout = 60;
    cfg->media_hold_timeout = 3600;
    cfg->calls_answer_timeout = 60;
    cfg->calls_session_expires = 1800;
    cfg->calls_min_se = 90;
    cfg->calls_slot_lease = 90;
    cfg->nat_keepalive_interval = 30;
    cfg->nat_keepalive_failures = 3;
    strcpy(cfg->cdr_spool_path, "/var/spool/tandem/cdr.spool");
    strcpy(cfg->cluster_failover, "vip");
    cfg->cluster_vip_prefix = 24;
    cfg->cluster_fence_after_ms = 1500;
    cfg->cdr_batch_max = 100;
    cfg->cdr_flush_ms = 1000;
    strcpy(cfg->cluster_membership, "redis");
    strcpy(cfg->cluster_group, "tandem");
    strcpy(cfg->cluster_role, "switch");
    cfg->cluster_dead_after_ms = 3000;
    cfg->cluster_retry_ms = 1000;
    cfg->cluster_retry_after = 5;
}

static const struct config_key *find_key(const char *name)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* One item: "host:port" or "[v6 address]:port". */
static int parse_hostport(const char *item, size_t len, struct config_hostport *out, char *err,
                          size_t errlen)
{
    const char *colon = NULL, *host = item;
    size_t hostlen;
    if (len && item[0] == '[') {
        const char *close = memchr(item, ']', len);
        if (!close || close + 1 >= item + len || close[1] != ':') {
            snprintf(err, errlen, "'%.*s' is not [address]:port", (int)len, item);
            return -1;
        }
        host = item + 1;
        hostlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        for (size_t i = 0; i < len; i++)
            if (item[i] == ':')
                colon = item + i;
        if (!colon || memchr(item, ':', (size_t)(colon - item))) {
            snprintf(err, errlen, "'%.*s' is not host:port", (int)len, item);
            return -1;
        }
        hostlen = (size_t)(colon - item);
    }
    if (hostlen == 0 || hostlen >= sizeof out->host) {
        snprintf(err, errlen, "'%.*s': host empty or longer than %zu characters", (int)len, item,
                 sizeof out->host - 1);
        return -1;
    }
    long port = 0;
    const char *p = colon + 1, *end = item + len;
    if (p == end)
        port = -1;
    for (; p < end && port >= 0; p++)
        port = isdigit((unsigned char)*p) && port <= 65535 ? port * 10 + (*p - '0') : -1;
    if (port < 1 || port > 65535) {
        snprintf(err, errlen, "'%.*s': port must be 1..65535", (int)len, item);
        return -1;
    }
    memcpy(out->host, host, hostlen);
    out->host[hostlen] = '\0';
    out->port = (int)port;
    return 0;
}

int config_parse_hostports(const char *list, struct config_hostport *out, int max, char *err,
                           size_t errlen)
{
    int n = 0;
    const char *s = list;
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return 0;
    for (;;) {
        const char *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);
        const char *b = s, *e = end;
        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        if (b == e) {
            snprintf(err, errlen, "empty item in the list");
            return -1;
        }
        if (n == max) {
            snprintf(err, errlen, "more than %d items", max);
            return -1;
        }
        if (parse_hostport(b, (size_t)(e - b), &out[n], err, errlen) != 0)
            return -1;
        n++;
        if (!comma)
            return n;
        s = comma + 1;
    }
}

int config_set(struct tandem_config *cfg, const char *key, const char *value, char *err,
               size_t errlen)
{
    const struct config_key *k = find_key(key);
    if (!k) {
        snprintf(err, errlen, "unknown key");
        return -1;
    }
    char *field = (char *)cfg + k->offset;
    switch (k->type) {
    case KEY_STRING:
    case KEY_LOGLEVEL:
        if (strlen(value) >= k->size) {
            snprintf(err, errlen, "value longer than %zu characters", k->size - 1);
            return -1;
        }
        if (k->type == KEY_LOGLEVEL && strcmp(value, "error") && strcmp(value, "warn") &&
            strcmp(value, "info") && strcmp(value, "debug")) {
            snprintf(err, errlen, "must be one of error, warn, info, debug");
            return -1;
        }
        strcpy(field, value);
        return 0;
    case KEY_INT: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (!*value || *end || errno) {
            snprintf(err, errlen, "'%s' is not an integer", value);
            return -1;
        }
        if (v < k->min || v > k->max) {
            snprintf(err, errlen, "%ld is outside %ld..%ld", v, k->min, k->max);
            return -1;
        }
        *(int *)field = (int)v;
        return 0;
    }
    case KEY_SENTINELS: {
        /* Parsed into a scratch list first: a bad value leaves the old one in place. */
        struct config_hostport list[CONFIG_SENTINELS_MAX] = {0};
        int n = config_parse_hostports(value, list, CONFIG_SENTINELS_MAX, err, errlen);
        if (n < 0)
            return -1;
        memcpy(cfg->redis_sentinels, list, sizeof list);
        cfg->redis_nsentinels = n;
        return 0;
    }
    case KEY_BOOL:
        if (!strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "on") ||
            !strcmp(value, "1"))
            *(int *)field = 1;
        else if (!strcmp(value, "no") || !strcmp(value, "false") || !strcmp(value, "off") ||
                 !strcmp(value, "0"))
            *(int *)field = 0;
        else {
            snprintf(err, errlen, "'%s' is not a boolean (yes/no)", value);
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "internal: bad key type");
    return -1;
}

int config_check(const struct tandem_config *cfg, char *err, size_t errlen)
{
    if (cfg->registrar_min_expires > cfg->registrar_default_expires ||
        cfg->registrar_default_expires > cfg->registrar_max_expires) {
        snprintf(err, errlen,
                 "registrar.default_expires: must lie between registrar.min_expires and "
                 "registrar.max_expires");
        return -1;
    }
    if (cfg->calls_session_expires && cfg->calls_session_expires < cfg->calls_min_se) {
        snprintf(err, errlen, "calls.session_expires: must be 0 or at least calls.min_se");
        return -1;
    }
    if (cfg->media_port_max - cfg->media_port_min < 7) {
        snprintf(err, errlen, "media.port_max: must be at least media.port_min + 7 (two calls)");
        return -1;
    }
    if (cfg->sip_tls_port && !cfg->sip_tls_cert_dir[0]) {
        snprintf(err, errlen, "sip.tls_cert_dir: required when sip.tls_port is set");
        return -1;
    }
    if (strcmp(cfg->cluster_failover, "vip") && strcmp(cfg->cluster_failover, "reinvite") &&
        strcmp(cfg->cluster_failover, "off")) {
        snprintf(err, errlen, "cluster.failover: must be vip, reinvite or off");
        return -1;
    }
    if (!cfg->sip_udp && !cfg->sip_tcp) {
        snprintf(err, errlen, "sip.udp: at least one of sip.udp and sip.tcp must be on");
        return -1;
    }
    if (strcmp(cfg->cluster_membership, "redis") && strcmp(cfg->cluster_membership, "corosync")) {
        snprintf(err, errlen, "cluster.membership: must be redis or corosync");
        return -1;
    }
    if (!cfg->cluster_group[0] || !cfg->cluster_role[0]) {
        snprintf(err, errlen, "%s: must not be empty",
                 cfg->cluster_group[0] ? "cluster.role" : "cluster.group");
        return -1;
    }
    if (cfg->redis_nsentinels) {
        const char *m = cfg->redis_master_name;
        int bad = !*m;
        for (; *m && !bad; m++)
            bad = isspace((unsigned char)*m) || !isprint((unsigned char)*m);
        if (bad) {
            snprintf(err, errlen,
                     "redis.master_name: must be a non-empty name without spaces when "
                     "redis.sentinels is set");
            return -1;
        }
    }
    if (strlen(cfg->auth_nonce_secret) < 16) {
        snprintf(err, errlen,
                 "auth.nonce_secret: must be set to at least 16 characters, the same on every "
                 "node");
        return -1;
    }
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int config_load(struct tandem_config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char line[2048];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            snprintf(err, errlen, "%s:%d: line longer than %zu characters", path, lineno,
                     sizeof line - 2);
            rc = -1;
            break;
        }
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        size_t vlen = strlen(value);
        if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
            value[vlen - 1] = '\0';
            value++;
        }
        char reason[512];
        if (config_set(cfg, key, value, reason, sizeof reason) != 0) {
            snprintf(err, errlen, "%s:%d: %s: %s", path, lineno, key, reason);
            rc = -1;
            break;
        }
    }
    fclose(f);
    if (rc == 0) {
        char reason[512];
        if (config_check(cfg, reason, sizeof reason) != 0) {
            snprintf(err, errlen, "%s: %s", path, reason);
            rc = -1;
        }
    }
    return rc;
}
