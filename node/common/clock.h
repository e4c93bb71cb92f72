/* Monotonic time in seconds as a double: for timeouts, rate limits and cache ages.
 * Wall-clock time (time()) is used only for what is stored or shown (expiry instants). */
#ifndef TANDEM_CLOCK_H
#define TANDEM_CLOCK_H

#include <time.h>

static inline double clock_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
