/* Levelled logging: "2026-11-23T10:00:00.123Z tandemd[pid] LEVEL [cid] message".
 * Writes are single fprintf calls on an unbuffered stream, so lines from threads do not interleave.
 */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level current_level = LOG_INFO;
static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void log_set_level(enum log_level level)
{
    current_level = level;
}

int log_enabled(enum log_level level)
{
    return level <= current_level;
}

int log_level_from_name(const char *name, enum log_level *out)
{
    static const char *const lower[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, lower[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_clean(const char *in, char *out, size_t len)
{
    size_t o = 0;
    for (; in && *in && o + 1 < len; in++) {
        unsigned char ch = (unsigned char)*in;
        out[o++] = (ch <= ' ' || ch == 0x7f || ch == '[' || ch == ']') ? '?' : (char)ch;
    }
    if (len)
        out[o] = '\0';
}

void log_msg(enum log_level level, const char *cid, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    char clean_cid[256];
    log_clean(cid ? cid : "-", clean_cid, sizeof clean_cid);
    fprintf(stderr, "%s.%03ldZ tandemd[%d] %s [%s] %s\n", stamp, (long)(tv.tv_usec / 1000),
            (int)getpid(), level_names[level], clean_cid, text);
}
