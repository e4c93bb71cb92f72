/* The CDR spool file: one JSON object per line, appended and fsync'd in batches, read back in
 * order from a byte offset. Used by the CDR writer thread only (and by its unit test). */
#ifndef TANDEM_CDR_SPOOL_H
#define TANDEM_CDR_SPOOL_H

#include "store/cdr.h"

#include <jansson.h>
#include <stddef.h>

/* Makes every string field of r NUL-terminated valid UTF-8 (a bad byte becomes '?'): both
 * PostgreSQL and jansson refuse anything else, and SIP user names are arbitrary bytes. */
void cdr_clean(struct cdr *r);

/* r as a JSON object with the table's column names; NULL when out of memory. */
json_t *cdr_to_json(const struct cdr *r);
/* Fills r from such an object. -1 when call_uuid is missing or a string does not fit. */
int cdr_from_json(struct cdr *r, const json_t *j);

/* Appends n records and fsyncs. A torn last line left by a crash is cut off first, so it never
 * glues onto a new record. On failure the file is put back to its old length: -1 with err. */
int cdr_spool_append(const char *path, const struct cdr *recs, size_t n, char *err, size_t errlen);

/* Reads up to max records in file order starting at byte offset. *next is the offset after the
 * last line consumed; complete lines that do not parse are consumed and counted in *bad. A last
 * line without its newline (torn) is not consumed. A missing file reads as empty. Returns the
 * number of records, or -1 with err. */
int cdr_spool_read(const char *path, long offset, struct cdr *out, int max, long *next, int *bad,
                   char *err, size_t errlen);

#endif
