#include "common/log.h"

#include <errno.h>
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

void sc__log(sc_log_level level, const char *topic, const char *fmt, ...)
{
    char line[1024], msg[1024], esc[2048];
    struct timespec ts;
    struct tm tm;
    va_list ap;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    if (log_json) {
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        json_escape(esc, sizeof(esc), msg);
        fprintf(stderr,
                "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\","
                "\"module\":\"%s\",\"msg\":\"%s\"}\n",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                ts.tv_nsec / 1000000, level_names[level], topic, esc);
        return;
    }
    int n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld %-5s [%s] ", tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], topic);
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    /* One fputs per line keeps lines from different threads whole. */
    fprintf(stderr, "%s\n", line);
}
