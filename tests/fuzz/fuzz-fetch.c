/* libFuzzer target for signaling/http/fetch.c's parsers, what an external
 * check reads from outside: the input is the answer of an organiser's
 * system (status line, headers, body framed by Content-Length, chunked or
 * the close), parsed whole, at the close, and with a smaller cap; and the
 * same bytes as an organiser's URL.  Aborts on broken invariants: a result
 * outside 1 / 0 / -EPROTO / -EFBIG, more wanted at the close, a body over
 * its cap or unterminated, a framed answer that reads otherwise at the
 * close; an accepted URL with a host, port or path a request line or a
 * Host header could be split with, or that does not parse again the same. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/http/fetch.h"

#define CAP 256

static void check_url(const uint8_t *data, size_t size)
{
    char url[SC_FETCH_URL_MAX + 2], again[SC_FETCH_URL_MAX + 300];
    sc_fetch_url u, v;
    size_t n = size < sizeof(url) - 1 ? size : sizeof(url) - 1;

    memcpy(url, data, n);
    url[n] = '\0';
    if (sc_fetch_url_parse(url, &u) != 0)
        return;
    long port = strtol(u.port, NULL, 10);
    if (!u.host[0] || port < 1 || port > 65535 || u.path[0] != '/')
        abort();
    for (const char *p = u.host; *p; p++)
        if (*p <= ' ' || *p == '/' || *p == '@' || *p == '#' || (unsigned char)*p >= 0x7f)
            abort();
    for (const char *p = u.path; *p; p++)
        if (*p <= ' ' || *p == '#' || (unsigned char)*p >= 0x7f)
            abort();
    bool v6 = strchr(u.host, ':') != NULL;
    snprintf(again, sizeof(again), "%s://%s%s%s:%s%s", u.tls ? "https" : "http", v6 ? "[" : "",
             u.host, v6 ? "]" : "", u.port, u.path);
    if (strlen(again) <= SC_FETCH_URL_MAX &&
        (sc_fetch_url_parse(again, &v) != 0 || v.tls != u.tls || strcmp(v.host, u.host) != 0 ||
         strcmp(v.port, u.port) != 0 || strcmp(v.path, u.path) != 0))
        abort();
}

static int parse(const uint8_t *data, size_t size, bool eof, int *status, char *body, size_t cap,
                 size_t *len)
{
    int r = sc__fetch_parse_answer((const char *)data, size, eof, status, body, cap, len);
    if (r != 1 && r != 0 && r != -EPROTO && r != -EFBIG)
        abort();
    if (r == 0 && eof)
        abort(); /* at the close an answer is whole or refused */
    if (r == 1 && (*len > cap || body[*len] != '\0' || *status < 100 || *status > 999))
        abort();
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char body[CAP + 1], body2[CAP + 1], small[CAP / 2 + 1];
    int st, st2, st3;
    size_t len, len2, len3;

    int open = parse(data, size, false, &st, body, CAP, &len);
    int closed = parse(data, size, true, &st2, body2, CAP, &len2);
    /* Whole before the close: the close changes nothing. */
    if (open == 1 && (closed != 1 || st != st2 || len != len2 || memcmp(body, body2, len) != 0))
        abort();
    /* A smaller cap refuses a longer body, or reads the same. */
    if (parse(data, size, true, &st3, small, CAP / 2, &len3) == 1 &&
        (closed != 1 || len3 != len2 || memcmp(small, body2, len3) != 0))
        abort();
    check_url(data, size);
    return 0;
}
