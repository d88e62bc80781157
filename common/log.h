/* Logging with per-module topics.  The level is checked before anything is
 * formatted, so a disabled debug line costs one comparison. */
#ifndef SC_LOG_H
#define SC_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

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
 * "module":"http","msg":"..."}, for log shippers.  A line about a room or
 * a media session (the _CTX macros) also has "room" and/or "session" (16
 * hex digits, as the protocol writes session ids); the text format leaves
 * them to the message.  0 or -EINVAL. */
int sc_log_set_format(const char *name);
void sc__log(sc_log_level level, const char *topic, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* room may be NULL or empty, session 0: not about one. */
void sc__log_ctx(sc_log_level level, const char *topic, const char *room, uint64_t session,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define SC_LOG(level, topic, ...)                                                       \
    do {                                                                               \
        if ((level) <= sc_log_threshold)                                               \
            sc__log((level), (topic), __VA_ARGS__);                                    \
    } while (0)
/* A budget of log lines per window of time, for lines a peer can cause:
 * the caller writes a line while lines < its limit (counting it) and
 * counts it in suppressed otherwise. */
typedef struct sc_log_window {
    int64_t start_ms;
    unsigned lines, suppressed;
} sc_log_window;

/* Starts a new window once the current one (window_ms long from start_ms)
 * is over; true when it did and the old one suppressed lines, their number
 * in *suppressed (the caller sums them up in one line). */
bool sc_log_window_roll(sc_log_window *w, int64_t now_ms, int64_t window_ms, unsigned *suppressed);

#define SC_LOG_CTX(level, topic, room, session, ...)                                    \
    do {                                                                               \
        if ((level) <= sc_log_threshold)                                               \
            sc__log_ctx((level), (topic), (room), (session), __VA_ARGS__);             \
    } while (0)
#define SC_ERROR(topic, ...) SC_LOG(SC_LOG_ERROR, topic, __VA_ARGS__)
#define SC_WARN(topic, ...) SC_LOG(SC_LOG_WARN, topic, __VA_ARGS__)
#define SC_INFO(topic, ...) SC_LOG(SC_LOG_INFO, topic, __VA_ARGS__)
#define SC_DEBUG(topic, ...) SC_LOG(SC_LOG_DEBUG, topic, __VA_ARGS__)
/* Lines about a room and/or a session: SC_INFO_CTX("ws", room, id, ...). */
#define SC_ERROR_CTX(topic, room, session, ...)                                         \
    SC_LOG_CTX(SC_LOG_ERROR, topic, room, session, __VA_ARGS__)
#define SC_WARN_CTX(topic, room, session, ...)                                          \
    SC_LOG_CTX(SC_LOG_WARN, topic, room, session, __VA_ARGS__)
#define SC_INFO_CTX(topic, room, session, ...)                                          \
    SC_LOG_CTX(SC_LOG_INFO, topic, room, session, __VA_ARGS__)
#define SC_DEBUG_CTX(topic, room, session, ...)                                         \
    SC_LOG_CTX(SC_LOG_DEBUG, topic, room, session, __VA_ARGS__)

#endif
