/* Unit tests for node/common/config.c: defaults, typed values, ranges, relations, file errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"

static char path[64];

static void write_file(const char *text)
{
    strcpy(path, "/tmp/tandem-config-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void good_file_loads(void **state)
{
    (void)state;
    struct tandem_config cfg;
    char err[512] = "";
    config_defaults(&cfg);
    write_file("# comment\n\nnode.id = n7\nsip.port = 5070\nsip.tcp = no\n"
               "postgres.conninfo = \"host=127.0.0.1 dbname=x\"\n"
               "auth.nonce_secret = 0123456789abcdef\n");
    assert_int_equal(config_load(&cfg, path, err, sizeof err), 0);
    unlink(path);
    assert_string_equal(cfg.node_id, "n7");
    assert_int_equal(cfg.sip_port, 5070);
    assert_int_equal(cfg.sip_tcp, 0);
    assert_int_equal(cfg.sip_udp, 1);
    assert_string_equal(cfg.postgres_conninfo, "host=127.0.0.1 dbname=x");
}

static void cluster_membership_is_redis_or_corosync(void **state)
{
    (void)state;
    struct tandem_config cfg;
    char err[512] = "";
    config_defaults(&cfg);
    assert_string_equal(cfg.cluster_membership, "redis"); /* single-host setups keep working */
    write_file("auth.nonce_secret = 0123456789abcdef\ncluster.membership = corosync\n"
               "cluster.service_address = 10.77.0.101\n");
    assert_int_equal(config_load(&cfg, path, err, sizeof err), 0);
    unlink(path);
    assert_string_equal(cfg.cluster_membership, "corosync");
    assert_string_equal(cfg.cluster_service_address, "10.77.0.101");
    config_defaults(&cfg);
    write_file("auth.nonce_secret = 0123456789abcdef\ncluster.membership = pacemaker\n");
    assert_int_equal(config_load(&cfg, path, err, sizeof err), -1);
    unlink(path);
    assert_non_null(strstr(err, "cluster.membership: must be redis or corosync"));
}

static void redis_sentinels_parse_into_addresses(void **state)
{
    (void)state;
    struct tandem_config cfg;
    char err[512] = "";
    config_defaults(&cfg);
    assert_int_equal(cfg.redis_nsentinels, 0); /* none: redis.host/port as before */
    assert_string_equal(cfg.redis_master_name, "tandem");
    write_file("auth.nonce_secret = 0123456789abcdef\n"
               "redis.sentinels = 10.0.0.1:26379, sentinel-b.example:26380 ,[::1]:26381\n"
               "redis.master_name = voice\nredis.sentinel_password = s3cret\n");
    assert_int_equal(config_load(&cfg, path, err, sizeof err), 0);
    unlink(path);
    assert_int_equal(cfg.redis_nsentinels, 3);
    assert_string_equal(cfg.redis_sentinels[0].host, "10.0.0.1");
    assert_int_equal(cfg.redis_sentinels[0].port, 26379);
    assert_string_equal(cfg.redis_sentinels[1].host, "sentinel-b.example");
    assert_int_equal(cfg.redis_sentinels[1].port, 26380);
    assert_string_equal(cfg.redis_sentinels[2].host, "::1");
    assert_int_equal(cfg.redis_sentinels[2].port, 26381);
    assert_string_equal(cfg.redis_master_name, "voice");
    assert_string_equal(cfg.redis_sentinel_password, "s3cret");
    assert_int_equal(config_set(&cfg, "redis.sentinels", "", err, sizeof err), 0);
    assert_int_equal(cfg.redis_nsentinels, 0);
}

static void bad_redis_sentinels_are_refused_naming_the_key(void **state)
{
    (void)state;
    struct tandem_config cfg;
    char err[512] = "";
    const char *bad[] = {
        "10.0.0.1", "10.0.0.1:0",  "10.0.0.1:65536", "10.0.0.1:26379,",
        ":26379",   "10.0.0.1:2x", "[::1:26379",     "a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9",
        "::1:26379"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        config_defaults(&cfg);
        char text[256];
        snprintf(text, sizeof text, "auth.nonce_secret = 0123456789abcdef\nredis.sentinels = %s\n",
                 bad[i]);
        write_file(text);
        assert_int_equal(config_load(&cfg, path, err, sizeof err), -1);
        unlink(path);
        assert_non_null(strstr(err, ":2: redis.sentinels: "));
    }
    config_defaults(&cfg);
    write_file("auth.nonce_secret = 0123456789abcdef\nredis.sentinels = 127.0.0.1:26379\n"
               "redis.master_name =\n");
    assert_int_equal(config_load(&cfg, path, err, sizeof err), -1);
    unlink(path);
    assert_non_null(strstr(err, "redis.master_name: must be a non-empty name"));
}

static void error_names_file_line_key_and_reason(void **state)
{
    (void)state;
    struct tandem_config cfg;
    char err[512] = "";
    config_defaults(&cfg);
    write_file("node.id = n1\nsip.port = 99999\n");
    assert_int_equal(config_load(&cfg, path, err, sizeof err), -1);
    char expected[256];
    snprintf(expected, sizeof expected, "%s:2: sip.port: 99999 is outside 1..65535", path);
    assert_string_equal(err, expected);
    unlink(path);
}

static void unknown_key_and_bad_types_are_refused(void **state)
{
    (void)state;
    struct tandem_config cfg;
    char err[256];
    config_defaults(&cfg);
    assert_int_equal(config_set(&cfg, "sip.prot", "5060", err, sizeof err), -1);
    assert_string_equal(err, "unknown key");
    assert_int_equal(config_set(&cfg, "sip.port", "50x", err, sizeof err), -1);
    assert_string_equal(err, "'50x' is not an integer");
    assert_int_equal(config_set(&cfg, "sip.udp", "maybe", err, sizeof err), -1);
    assert_int_equal(config_set(&cfg, "log.level", "loud", err, sizeof err), -1);
    assert_int_equal(config_set(&cfg, "log.level", "debug", err, sizeof err), 0);
}

static void line_without_equals_is_refused(void **state)
{
    (void)state;
    struct tandem_config cfg;
    char err[512];
    config_defaults(&cfg);
    write_file("auth.nonce_secret = 0123456789abcdef\nsip.port 5060\n");
    assert_int_equal(config_load(&cfg, path, err, sizeof err), -1);
    assert_non_null(strstr(err, ":2: expected 'key = value'"));
    unlink(path);
}

static void relations_are_checked(void **state)
{
    (void)state;
    struct tandem_config cfg;
    char err[512];
    config_defaults(&cfg);
    strcpy(cfg.auth_nonce_secret, "0123456789abcdef");
    assert_int_equal(config_check(&cfg, err, sizeof err), 0);
    cfg.registrar_min_expires = 4000;
    assert_int_equal(config_check(&cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "registrar.default_expires"));
    config_defaults(&cfg);
    assert_int_equal(config_check(&cfg, err, sizeof err), -1); /* no nonce secret */
    assert_non_null(strstr(err, "auth.nonce_secret"));
}

static void missing_file_is_reported(void **state)
{
    (void)state;
    struct tandem_config cfg;
    char err[512];
    config_defaults(&cfg);
    assert_int_equal(config_load(&cfg, "/nonexistent/tandem.conf", err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/tandem.conf: cannot open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_file_loads),
        cmocka_unit_test(error_names_file_line_key_and_reason),
        cmocka_unit_test(unknown_key_and_bad_types_are_refused),
        cmocka_unit_test(line_without_equals_is_refused),
        cmocka_unit_test(relations_are_checked),
        cmocka_unit_test(missing_file_is_reported),
        cmocka_unit_test(cluster_membership_is_redis_or_corosync),
        cmocka_unit_test(redis_sentinels_parse_into_addresses),
        cmocka_unit_test(bad_redis_sentinels_are_refused_naming_the_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
