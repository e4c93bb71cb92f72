/* Field tables and checks for the routing objects. Each rule mirrors a CHECK in
 * schema/002_routing.sql, so a bad value is a 422 naming the field, never a 500 from PostgreSQL. */
#include "admin/api_validate_routing.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static int is_transport(const char *s)
{
    return !strcmp(s, "udp") || !strcmp(s, "tcp");
}

static int is_caller_id_mode(const char *s)
{
    return !strcmp(s, "pai") || !strcmp(s, "rpid") || !strcmp(s, "none");
}

static int is_target_type(const char *s)
{
    return !strcmp(s, "extension");
}

/* Credentials go into SIP headers: no control characters. */
static int is_printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

static const struct api_field gateway_fields[] = {
    {"name", API_F_STRING, 1, 1, 64, api_valid_gateway_name, "must match ^[A-Za-z0-9._-]{1,64}$"},
    {"host", API_F_STRING, 1, 1, 253, api_valid_host, "must be an IP address or a DNS name"},
    {"port", API_F_INT, 0, 1, 65535, NULL, NULL},
    {"transport", API_F_STRING, 0, 1, 8, is_transport, "must be udp or tcp"},
    {"username", API_F_STRING_OR_NULL, 0, 1, 128, is_printable, "must not contain controls"},
    {"password", API_F_STRING_OR_NULL, 0, 1, 128, is_printable, "must not contain controls"},
    {"register", API_F_BOOL, 0, 0, 0, NULL, NULL},
    {"register_expires", API_F_INT, 0, 60, 86400, NULL, NULL},
    {"ping_interval", API_F_INT, 0, 0, 3600, NULL, NULL},
    {"acl_cidrs", API_F_STRING_ARRAY, 0, 0, 64, api_valid_cidr, "must be a CIDR"},
    {"max_calls", API_F_INT_OR_NULL, 0, 1, 1000000, NULL, NULL},
    {"max_cps", API_F_CUSTOM, 0, 0, 0, NULL, NULL},
    {"originate_timeout_ms", API_F_INT, 0, 100, 600000, NULL, NULL},
    {"progress_timeout_ms", API_F_INT, 0, 100, 600000, NULL, NULL},
    {"bridge_answer_timeout_ms", API_F_INT, 0, 100, 600000, NULL, NULL},
    {"failover_statuses", API_F_CUSTOM, 0, 0, 0, NULL, NULL},
    {"caller_id_mode", API_F_STRING, 0, 1, 8, is_caller_id_mode, "must be pai, rpid or none"},
    {"enabled", API_F_BOOL, 0, 0, 0, NULL, NULL},
};

static const struct api_field did_fields[] = {
    {"number", API_F_STRING, 1, 1, 21, api_valid_did_number, "must match ^\\+?[0-9]{1,20}$"},
    {"target_type", API_F_STRING, 0, 1, 16, is_target_type, "must be extension"},
    {"target", API_F_STRING, 1, 1, 64, api_valid_extension, "must match ^[A-Za-z0-9._+-]{1,64}$"},
};

static const struct api_field route_fields[] = {
    {"name", API_F_STRING, 1, 1, 128, NULL, NULL},
    {"priority", API_F_INT, 0, 0, 65535, NULL, NULL},
    {"pattern", API_F_STRING, 1, 1, 256, api_valid_regex,
     "must be a POSIX extended regular expression"},
    {"strip_digits", API_F_INT, 0, 0, 20, NULL, NULL},
    {"prepend", API_F_STRING, 0, 0, 20, api_valid_prepend, "must match ^[0-9+*#]{0,20}$"},
    {"gateway_ids", API_F_STRING_ARRAY, 1, 1, 16, api_valid_uuid, "must be a gateway id (UUID)"},
    {"emergency", API_F_BOOL, 0, 0, 0, NULL, NULL},
    {"enabled", API_F_BOOL, 0, 0, 0, NULL, NULL},
};

int api_valid_gateway_name(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 64)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
            return 0;
    return 1;
}

int api_valid_host(const char *s)
{
    unsigned char addr[16];
    if (inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1)
        return 1;
    if (!api_valid_domain(s))
        return 0;
    /* "192.0.2.300" passes as a DNS name; no TLD is all digits, so it is a mistyped address. */
    const char *last = strrchr(s, '.');
    last = last ? last + 1 : s;
    return strspn(last, "0123456789") != strlen(last);
}

int api_valid_cidr(const char *s)
{
    char buf[64];
    size_t len = strlen(s);
    if (len == 0 || len >= sizeof buf)
        return 0;
    memcpy(buf, s, len + 1);
    char *slash = strchr(buf, '/');
    int v6 = strchr(buf, ':') != NULL, bits = v6 ? 128 : 32, prefix = bits;
    if (slash) {
        *slash = '\0';
        const char *p = slash + 1;
        if (!*p || strlen(p) > 3 || strspn(p, "0123456789") != strlen(p))
            return 0;
        prefix = atoi(p);
        if (prefix > bits)
            return 0;
    }
    unsigned char addr[16];
    if (inet_pton(v6 ? AF_INET6 : AF_INET, buf, addr) != 1)
        return 0;
    for (int b = prefix; b < bits; b++)
        if (addr[b / 8] & (0x80 >> (b % 8)))
            return 0;
    return 1;
}

int api_valid_did_number(const char *s)
{
    if (*s == '+')
        s++;
    size_t len = strlen(s);
    return len >= 1 && len <= 20 && strspn(s, "0123456789") == len;
}

int api_valid_prepend(const char *s)
{
    size_t len = strlen(s);
    return len <= 20 && strspn(s, "0123456789+*#") == len;
}

int api_valid_regex(const char *s)
{
    regex_t re;
    if (regcomp(&re, s, REG_EXTENDED | REG_NOSUB) != 0)
        return 0;
    regfree(&re);
    return 1;
}

/* max_cps: a positive number (fractions allowed: 0.5 is one call every two seconds), or null. */
static int check_max_cps(const json_t *v, struct api_verror *err)
{
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v) || json_number_value(v) <= 0 || json_number_value(v) > 100000)
        return api_verror_set(err, "max_cps", "must be a number above 0 and up to 100000, or null");
    return 0;
}

static int check_failover_statuses(const json_t *v, struct api_verror *err)
{
    if (!v)
        return 0;
    if (!json_is_array(v) || json_array_size(v) > 32)
        return api_verror_set(err, "failover_statuses",
                              "must be an array of at most 32 SIP statuses from 400 to 699");
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);
        if (!json_is_integer(e) || json_integer_value(e) < 400 || json_integer_value(e) > 699)
            return api_verror_set(err, "failover_statuses",
                                  "must be an array of SIP statuses from 400 to 699");
    }
    return 0;
}

int api_validate_gateway(const json_t *body, int creating, struct api_verror *err)
{
    if (api_validate_object(body, gateway_fields, NFIELDS(gateway_fields), creating, err) != 0)
        return -1;
    if (check_max_cps(json_object_get(body, "max_cps"), err) != 0 ||
        check_failover_statuses(json_object_get(body, "failover_statuses"), err) != 0)
        return -1;
    const json_t *ping = json_object_get(body, "ping_interval");
    if (ping && json_integer_value(ping) > 0 && json_integer_value(ping) < 5)
        return api_verror_set(err, "ping_interval", "must be 0 (off) or from 5 to 3600");
    /* Registering needs credentials; on PATCH the stored row decides (admin_db_gateway_update). */
    if (creating && json_is_true(json_object_get(body, "register"))) {
        if (!json_is_string(json_object_get(body, "username")))
            return api_verror_set(err, "username", "is required when register is true");
        if (!json_is_string(json_object_get(body, "password")))
            return api_verror_set(err, "password", "is required when register is true");
    }
    return 0;
}

int api_validate_did(const json_t *body, int creating, struct api_verror *err)
{
    return api_validate_object(body, did_fields, NFIELDS(did_fields), creating, err);
}

int api_validate_route(const json_t *body, int creating, struct api_verror *err)
{
    if (api_validate_object(body, route_fields, NFIELDS(route_fields), creating, err) != 0)
        return -1;
    /* The store counts the tenant's gateways matching the list, so a repeat would read as a
     * missing gateway; and trying one gateway twice in a row is never what was meant. */
    const json_t *ids = json_object_get(body, "gateway_ids");
    for (size_t i = 0; i < json_array_size(ids); i++)
        for (size_t j = 0; j < i; j++)
            if (!strcasecmp(json_string_value(json_array_get(ids, i)),
                            json_string_value(json_array_get(ids, j))))
                return api_verror_set(err, "gateway_ids", "must not list a gateway twice");
    return 0;
}
