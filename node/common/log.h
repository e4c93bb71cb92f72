/* Levelled logging to stderr with a per-call correlation id.
 * One line per event so that operators (and fail2ban) can grep and parse it. */
#ifndef TANDEM_LOG_H
#define TANDEM_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
int log_level_from_name(const char *name, enum log_level *out);
int log_enabled(enum log_level level);

#include <stddef.h>

/* Copies client-supplied text for a log line with whitespace, control characters and brackets
 * replaced by '?', so a Call-ID or user name cannot forge a second log field or line. */
void log_clean(const char *in, char *out, size_t len);

/* cid is the correlation id of the call or request (the SIP Call-ID); NULL for none. */
void log_msg(enum log_level level, const char *cid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(cid, ...) log_msg(LOG_ERROR, cid, __VA_ARGS__)
#define log_warn(cid, ...) log_msg(LOG_WARN, cid, __VA_ARGS__)
#define log_info(cid, ...) log_msg(LOG_INFO, cid, __VA_ARGS__)
#define log_debug(cid, ...)                                                                        \
    do {                                                                                           \
        if (log_enabled(LOG_DEBUG))                                                                \
            log_msg(LOG_DEBUG, cid, __VA_ARGS__);                                                  \
    } while (0)

#endif
