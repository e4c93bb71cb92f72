/* Validation of REST API input: JSON bodies against a table of fields, DNS names, extensions
 * and UUIDs. Pure functions (no I/O), unit-tested in tests/unit/test_api_validate.c. */
#ifndef TANDEM_API_VALIDATE_H
#define TANDEM_API_VALIDATE_H

#include <jansson.h>
#include <stddef.h>

enum api_ftype {
    API_F_STRING,         /* a string of min_len..max_len characters (UTF-8 code points) */
    API_F_BOOL,           /* true or false */
    API_F_UUID_OR_NULL,   /* a UUID string, or null */
    API_F_STRING_OR_NULL, /* as API_F_STRING, or null (clears the value) */
    API_F_INT,            /* a JSON integer in min_len..max_len (the value range) */
    API_F_INT_OR_NULL,    /* as API_F_INT, or null */
    API_F_STRING_ARRAY,   /* min_len..max_len strings, each passing check */
    API_F_CUSTOM,         /* any JSON value: the caller checks it after the table */
};

struct api_field {
    const char *name;
    enum api_ftype type;
    int required; /* on create; an update (PATCH) requires nothing */
    size_t min_len, max_len;
    int (*check)(const char *value); /* further check of a string; NULL for none */
    const char *check_message;       /* the error when check fails */
};

struct api_verror {
    char field[129]; /* the field at fault (possibly an unknown one, truncated) */
    char message[160];
};

/* 0 when obj only has fields from the table, each of the right type and valid, and (creating)
 * all required ones; else -1 with the first fault in err. */
int api_validate_object(const json_t *obj, const struct api_field *fields, size_t nfields,
                        int creating, struct api_verror *err);

/* A DNS name: labels of letters, digits and inner hyphens, 1..63 each, 253 in all, no trailing
 * dot. Accepts either case (the caller lowercases). */
int api_valid_domain(const char *s);
/* ^[A-Za-z0-9._+-]{1,64}$, as the users table requires. */
int api_valid_extension(const char *s);
/* 8-4-4-4-12 hex digits. */
int api_valid_uuid(const char *s);

/* Sets err to field + message and returns -1, for checks done outside the table. */
int api_verror_set(struct api_verror *err, const char *field, const char *message);

/* Lowercases s in place (ASCII). */
void api_lowercase(char *s);

#endif
