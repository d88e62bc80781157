#include "common/log.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

sc_log_level sc_log_threshold = SC_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int sc_log_set_level(const char *name)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            sc_log_threshold = (sc_log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

bool sc_log_window_roll(sc_log_window *w, int64_t now_ms, int64_t window_ms, unsigned *suppressed)
{
    if (now_ms - w->start_ms < window_ms)
        return false;
    *suppressed = w->suppressed;
    w->start_ms = now_ms;
    w->lines = w->suppressed = 0;
    return *suppressed > 0;
}

static bool log_json;

/* Room names are checked before they are logged ([A-Za-z0-9_-], at most
 * 64); this has room for one escaped at six bytes a byte, and cuts a
 * longer one. */
#define SC_LOG_ROOM_ESC 400

int sc_log_set_format(const char *name)
{
    if (strcmp(name, "text") == 0 || strcmp(name, "json") == 0) {
        log_json = name[0] == 'j';
        return 0;
    }
    return -EINVAL;
}

/* s as the inside of a JSON string into out (cut to fit, never mid-escape). */
static void json_escape(char *out, size_t cap, const char *s)
{
    size_t n = 0;

    for (; *s && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
}

static void vlog(sc_log_level level, const char *topic, const char *room, uint64_t session,
                 const char *fmt, va_list ap)
{
    char line[1024], msg[1024], esc[2048], ctx[SC_LOG_ROOM_ESC + 64];
    struct timespec ts;
    struct tm tm;
    size_t n = 0;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    if (log_json) {
        vsnprintf(msg, sizeof(msg), fmt, ap);
        json_escape(esc, sizeof(esc), msg);
        ctx[0] = '\0';
        if (room && room[0]) {
            n = (size_t)snprintf(ctx, sizeof(ctx), ",\"room\":\"");
            json_escape(ctx + n, SC_LOG_ROOM_ESC, room);
            n += strlen(ctx + n);
            n += (size_t)snprintf(ctx + n, sizeof(ctx) - n, "\"");
        }
        if (session)
            snprintf(ctx + n, sizeof(ctx) - n, ",\"session\":\"%016" PRIx64 "\"", session);
        /* One write per line keeps lines from different threads whole. */
        fprintf(stderr,
                "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\","
                "\"module\":\"%s\"%s,\"msg\":\"%s\"}\n",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                ts.tv_nsec / 1000000, level_names[level], topic, ctx, esc);
        return;
    }
    int k = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld %-5s [%s] ", tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], topic);
    if (k > 0 && (size_t)k < sizeof(line))
        vsnprintf(line + k, sizeof(line) - (size_t)k, fmt, ap);
    fprintf(stderr, "%s\n", line);
}

void sc__log(sc_log_level level, const char *topic, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(level, topic, NULL, 0, fmt, ap);
    va_end(ap);
}

void sc__log_ctx(sc_log_level level, const char *topic, const char *room, uint64_t session,
                 const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(level, topic, room, session, fmt, ap);
    va_end(ap);
}
