/* Logging with per-module topics.  The level is checked before anything is
 * formatted, so a disabled debug line costs one comparison. */
#ifndef SC_LOG_H
#define SC_LOG_H

#include <stdarg.h>

typedef enum sc_log_level {
    SC_LOG_ERROR = 0,
    SC_LOG_WARN = 1,
    SC_LOG_INFO = 2,
    SC_LOG_DEBUG = 3,
} sc_log_level;

extern sc_log_level sc_log_threshold;

/* Parse "error|warn|info|debug"; returns 0 or -EINVAL. */
int sc_log_set_level(const char *name);
/* "text" (the default: "12:00:00.000 info  [http] message") or "json": one
 * object per line, {"ts":"2026-12-06T12:00:00.000Z","level":"info",
 * "module":"http","msg":"..."}, for log shippers.  0 or -EINVAL. */
int sc_log_set_format(const char *name);
void sc__log(sc_log_level level, const char *topic, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define SC_LOG(level, topic, ...)                                                       \
    do {                                                                               \
        if ((level) <= sc_log_threshold)                                               \
            sc__log((level), (topic), __VA_ARGS__);                                    \
    } while (0)
#define SC_ERROR(topic, ...) SC_LOG(SC_LOG_ERROR, topic, __VA_ARGS__)
#define SC_WARN(topic, ...) SC_LOG(SC_LOG_WARN, topic, __VA_ARGS__)
#define SC_INFO(topic, ...) SC_LOG(SC_LOG_INFO, topic, __VA_ARGS__)
#define SC_DEBUG(topic, ...) SC_LOG(SC_LOG_DEBUG, topic, __VA_ARGS__)

#endif
