/* tandemctl's output: aligned tables for lists, "key: value" lines for one object, or the
 * raw JSON with --json. Values that are not strings are shown in their JSON form. */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The text of obj[key] into buf. */
static const char *cell(const json_t *obj, const char *key, char *buf, size_t len)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return "-";
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_true(v))
        return "yes";
    if (json_is_false(v))
        return "no";
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(buf, len, "%s", t ? t : "?");
    free(t);
    return buf;
}

void ctl_print_table(const json_t *rows, const struct ctl_column *cols, size_t ncols)
{
    size_t width[16] = {0}, nrows = json_array_size(rows);
    char buf[512];
    if (ncols > 16)
        ncols = 16;
    for (size_t c = 0; c < ncols; c++) {
        width[c] = strlen(cols[c].header);
        for (size_t r = 0; r < nrows; r++) {
            size_t l = strlen(cell(json_array_get(rows, r), cols[c].key, buf, sizeof buf));
            if (l > width[c])
                width[c] = l;
        }
    }
    for (size_t c = 0; c < ncols; c++)
        printf("%-*s%s", c + 1 < ncols ? (int)width[c] : 0, cols[c].header,
               c + 1 < ncols ? "  " : "\n");
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < ncols; c++)
            printf("%-*s%s", c + 1 < ncols ? (int)width[c] : 0,
                   cell(json_array_get(rows, r), cols[c].key, buf, sizeof buf),
                   c + 1 < ncols ? "  " : "\n");
}

void ctl_print_object(const json_t *obj, const struct ctl_column *cols, size_t ncols)
{
    char buf[512];
    size_t w = 0;
    for (size_t c = 0; c < ncols; c++)
        if (strlen(cols[c].header) > w)
            w = strlen(cols[c].header);
    for (size_t c = 0; c < ncols; c++) {
        char label[64];
        snprintf(label, sizeof label, "%s:", cols[c].header);
        printf("%-*s %s\n", (int)w + 1, label, cell(obj, cols[c].key, buf, sizeof buf));
    }
}

void ctl_print_json(const json_t *v)
{
    char *t = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
    if (t) {
        puts(t);
        free(t);
    }
}
