/* The CDR spool's format: JSON lines (jansson) named like the cdrs columns, so an operator can
 * read or load a spool by hand. Durability comes from fsync per batch and from a reader that
 * only trusts lines that end in a newline: a crash mid-write loses at most the batch in flight. */
#include "store/cdr_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The record's fields as a table, so JSON encoding, decoding and cleaning cannot drift apart. */
struct cdr_str_field {
    const char *key;
    size_t offset, size;
};

#define S(name) #name, offsetof(struct cdr, name), sizeof(((struct cdr *)0)->name)
static const struct cdr_str_field str_fields[] = {
    {S(call_uuid)},      {S(tenant_id)},     {S(a_call_id)}, {S(b_call_id)}, {S(caller)},
    {S(callee_dialled)}, {S(callee_routed)}, {S(gateway)},   {S(node)},      {S(hangup_by)},
    {S(codec_a)},        {S(codec_b)},       {S(media_a)},   {S(media_b)},
};
#undef S

struct cdr_ms_field {
    const char *key;
    size_t offset;
};
static const struct cdr_ms_field ms_fields[] = {
    {"start_ms", offsetof(struct cdr, start_ms)},
    {"progress_ms", offsetof(struct cdr, progress_ms)},
    {"answer_ms", offsetof(struct cdr, answer_ms)},
    {"end_ms", offsetof(struct cdr, end_ms)},
};

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates), or 0. */
static size_t utf8_seq(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n;
    unsigned int cp;
    if ((s[0] & 0xe0) == 0xc0)
        n = 2, cp = s[0] & 0x1fu;
    else if ((s[0] & 0xf0) == 0xe0)
        n = 3, cp = s[0] & 0x0fu;
    else if ((s[0] & 0xf8) == 0xf0)
        n = 4, cp = s[0] & 0x07u;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    static const unsigned int min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void cdr_clean(struct cdr *r)
{
    for (size_t f = 0; f < NFIELDS(str_fields); f++) {
        unsigned char *s = (unsigned char *)r + str_fields[f].offset;
        s[str_fields[f].size - 1] = '\0';
        while (*s) {
            size_t n = utf8_seq(s);
            if (n == 0)
                *s++ = '?';
            else
                s += n;
        }
    }
}

json_t *cdr_to_json(const struct cdr *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad = 0;
    for (size_t f = 0; f < NFIELDS(str_fields); f++)
        bad |= json_object_set_new(o, str_fields[f].key,
                                   json_string((const char *)r + str_fields[f].offset));
    for (size_t f = 0; f < NFIELDS(ms_fields); f++)
        bad |= json_object_set_new(
            o, ms_fields[f].key,
            json_integer(
                *(const long long *)(const void *)((const char *)r + ms_fields[f].offset)));
    bad |= json_object_set_new(o, "sip_status", json_integer(r->sip_status));
    bad |= json_object_set_new(o, "q850_cause", json_integer(r->q850_cause));
    bad |= json_object_set_new(o, "failover", json_boolean(r->failover));
    if (bad) { /* out of memory, or a string that is not UTF-8 (cdr_clean prevents that) */
        json_decref(o);
        return NULL;
    }
    return o;
}

int cdr_from_json(struct cdr *r, const json_t *j)
{
    memset(r, 0, sizeof *r);
    if (!json_is_object(j))
        return -1;
    for (size_t f = 0; f < NFIELDS(str_fields); f++) {
        const char *v = json_string_value(json_object_get(j, str_fields[f].key));
        if (!v)
            continue;
        if (strlen(v) >= str_fields[f].size)
            return -1;
        memcpy((char *)r + str_fields[f].offset, v, strlen(v) + 1);
    }
    for (size_t f = 0; f < NFIELDS(ms_fields); f++)
        *(long long *)(void *)((char *)r + ms_fields[f].offset) =
            (long long)json_integer_value(json_object_get(j, ms_fields[f].key));
    r->sip_status = (int)json_integer_value(json_object_get(j, "sip_status"));
    r->q850_cause = (int)json_integer_value(json_object_get(j, "q850_cause"));
    r->failover = json_is_true(json_object_get(j, "failover"));
    return r->call_uuid[0] ? 0 : -1;
}

/* Offset just after the last newline of the first size bytes of fd (0 when there is none). */
static off_t last_line_end(int fd, off_t size)
{
    char buf[4096];
    off_t end = size;
    while (end > 0) {
        size_t chunk = end > (off_t)sizeof buf ? sizeof buf : (size_t)end;
        ssize_t got = pread(fd, buf, chunk, end - (off_t)chunk);
        if (got != (ssize_t)chunk)
            return -1;
        for (size_t i = chunk; i > 0; i--)
            if (buf[i - 1] == '\n')
                return end - (off_t)chunk + (off_t)i;
        end -= (off_t)chunk;
    }
    return 0;
}

/* The records as JSON lines in one malloc'd buffer. */
static char *render(const struct cdr *recs, size_t n, size_t *len)
{
    char *buf = NULL;
    size_t used = 0, cap = 0;
    for (size_t i = 0; i < n; i++) {
        struct cdr clean = recs[i];
        cdr_clean(&clean);
        json_t *o = cdr_to_json(&clean);
        char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (!line) {
            free(buf);
            return NULL;
        }
        size_t l = strlen(line);
        if (used + l + 1 > cap) {
            size_t grown_cap = (used + l + 1) * 2;
            char *grown = realloc(buf, grown_cap);
            if (!grown) {
                free(line);
                free(buf);
                return NULL;
            }
            buf = grown, cap = grown_cap;
        }
        memcpy(buf + used, line, l);
        buf[used + l] = '\n';
        used += l + 1;
        free(line);
    }
    *len = used;
    return buf;
}

/* fsync of the directory holding path, so a newly created spool survives a power cut. */
static int sync_dir(const char *path)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int cdr_spool_append(const char *path, const struct cdr *recs, size_t n, char *err, size_t errlen)
{
    size_t len = 0;
    char *buf = render(recs, n, &len);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct stat st;
    int created = stat(path, &st) != 0 && errno == ENOENT;
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(buf);
        return -1;
    }
    off_t size = fstat(fd, &st) == 0 ? st.st_size : -1;
    off_t keep = size > 0 ? last_line_end(fd, size) : size;
    const char *what = NULL;
    if (keep < 0)
        what = "cannot read";
    else if (keep < size && ftruncate(fd, keep) != 0)
        what = "cannot cut its torn last line";
    for (size_t off = 0; !what && off < len;) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            what = "write failed";
        else
            off += (size_t)w;
    }
    if (!what && fsync(fd) != 0)
        what = "fsync failed";
    if (!what && created && sync_dir(path) != 0)
        what = "fsync of its directory failed";
    if (what) {
        snprintf(err, errlen, "%s: %s: %s", path, what, strerror(errno));
        /* Half a batch on disk would be replayed while the caller counts it as lost. */
        if (keep >= 0 && ftruncate(fd, keep) != 0)
            snprintf(err, errlen, "%s: %s, and cannot undo it: %s", path, what, strerror(errno));
    }
    close(fd);
    free(buf);
    return what ? -1 : 0;
}

int cdr_spool_read(const char *path, long offset, struct cdr *out, int max, long *next, int *bad,
                   char *err, size_t errlen)
{
    *next = offset;
    *bad = 0;
    FILE *f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fseek(f, offset, SEEK_SET) != 0) {
        snprintf(err, errlen, "%s: cannot seek to %ld: %s", path, offset, strerror(errno));
        fclose(f);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int n = 0;
    while (n < max && (len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] != '\n')
            break; /* torn: the crash came mid-write; never acknowledged, so never replayed */
        *next += (long)len;
        json_t *j = json_loadb(line, (size_t)len, 0, NULL);
        if (j && cdr_from_json(&out[n], j) == 0)
            n++;
        else
            ++*bad;
        json_decref(j);
    }
    int failed = ferror(f);
    free(line);
    fclose(f);
    if (failed) {
        snprintf(err, errlen, "%s: read error", path);
        return -1;
    }
    return n;
}
