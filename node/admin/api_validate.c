/* Field-table validation of JSON request bodies and the syntax checks the API applies.
 * Lengths count code points, matching PostgreSQL's length() in the schema's CHECKs. */
#include "admin/api_validate.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int api_valid_domain(const char *s)
{
    size_t len = strlen(s), label = 0;
    if (len == 0 || len > 253)
        return 0;
    for (size_t i = 0; i <= len; i++) {
        char c = s[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || s[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char)c) && c != '-')
            return 0;
        if (c == '-' && label == 0)
            return 0;
        if (++label > 63)
            return 0;
    }
    return 1;
}

int api_valid_extension(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 64)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._+-", s[i]))
            return 0;
    return 1;
}

int api_valid_uuid(const char *s)
{
    if (strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

void api_lowercase(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static int fail(struct api_verror *err, const char *field, const char *message)
{
    snprintf(err->field, sizeof err->field, "%s", field);
    snprintf(err->message, sizeof err->message, "%s", message);
    return -1;
}

int api_verror_set(struct api_verror *err, const char *field, const char *message)
{
    return fail(err, field, message);
}

static int check_string(const json_t *v, const struct api_field *f, struct api_verror *err)
{
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v))
        return fail(err, f->name, "must not contain NUL characters");
    size_t n = utf8_chars(s);
    if (n < f->min_len || n > f->max_len) {
        char msg[96];
        if (f->min_len == f->max_len)
            snprintf(msg, sizeof msg, "must be %zu characters long", f->min_len);
        else
            snprintf(msg, sizeof msg, "must be %zu to %zu characters long", f->min_len, f->max_len);
        return fail(err, f->name, msg);
    }
    if (f->check && !f->check(s))
        return fail(err, f->name, f->check_message ? f->check_message : "is invalid");
    return 0;
}

static int check_int(const json_t *v, const struct api_field *f, struct api_verror *err)
{
    if (!json_is_integer(v))
        return fail(err, f->name, "must be an integer");
    json_int_t n = json_integer_value(v);
    if (n < 0 || (unsigned long long)n < f->min_len || (unsigned long long)n > f->max_len) {
        char msg[96];
        snprintf(msg, sizeof msg, "must be an integer from %zu to %zu", f->min_len, f->max_len);
        return fail(err, f->name, msg);
    }
    return 0;
}

static int check_string_array(const json_t *v, const struct api_field *f, struct api_verror *err)
{
    char msg[96];
    if (!json_is_array(v))
        return fail(err, f->name, "must be an array of strings");
    size_t n = json_array_size(v);
    if (n < f->min_len || n > f->max_len) {
        snprintf(msg, sizeof msg, "must have %zu to %zu elements", f->min_len, f->max_len);
        return fail(err, f->name, msg);
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e))
            return fail(err, f->name, "must be an array of strings");
        if (f->check && !f->check(json_string_value(e))) {
            snprintf(msg, sizeof msg, "element %zu %s", i,
                     f->check_message ? f->check_message : "is invalid");
            return fail(err, f->name, msg);
        }
    }
    return 0;
}

static int check_field(const json_t *v, const struct api_field *f, struct api_verror *err)
{
    switch (f->type) {
    case API_F_STRING_OR_NULL:
        if (json_is_null(v))
            return 0;
        /* fall through */
    case API_F_STRING:
        if (!json_is_string(v))
            return fail(err, f->name, "must be a string");
        return check_string(v, f, err);
    case API_F_INT_OR_NULL:
        if (json_is_null(v))
            return 0;
        /* fall through */
    case API_F_INT:
        return check_int(v, f, err);
    case API_F_STRING_ARRAY:
        return check_string_array(v, f, err);
    case API_F_CUSTOM:
        return 0;
    case API_F_BOOL:
        if (!json_is_boolean(v))
            return fail(err, f->name, "must be true or false");
        return 0;
    case API_F_UUID_OR_NULL:
        if (json_is_null(v))
            return 0;
        if (!json_is_string(v) || !api_valid_uuid(json_string_value(v)))
            return fail(err, f->name, "must be a UUID or null");
        return 0;
    }
    return fail(err, f->name, "unsupported field type");
}

int api_validate_object(const json_t *obj, const struct api_field *fields, size_t nfields,
                        int creating, struct api_verror *err)
{
    if (!json_is_object(obj))
        return fail(err, "", "the body must be a JSON object");
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        const struct api_field *f = NULL;
        for (size_t i = 0; i < nfields && !f; i++)
            if (!strcmp(fields[i].name, key))
                f = &fields[i];
        if (!f)
            return fail(err, key, "unknown field");
        if (check_field(value, f, err) != 0)
            return -1;
    }
    if (creating)
        for (size_t i = 0; i < nfields; i++)
            if (fields[i].required && !json_object_get(obj, fields[i].name))
                return fail(err, fields[i].name, "is required");
    return 0;
}
