/* Blocking HTTP/1.1 over one TCP connection per request.  The server is on
 * loopback, so a 10 s socket timeout only guards against a hung server. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define LG_HTTP_MAX_RESP (4 * 1024 * 1024)

int lg_http_parse_url(const char *url, char *host, size_t hostcap, int *port)
{
    const char *p, *colon;
    size_t n;

    if (strncmp(url, "http://", 7) != 0)
        return -EINVAL;
    p = url + 7;
    colon = strchr(p, ':');
    if (!colon)
        return -EINVAL;
    n = (size_t)(colon - p);
    if (n == 0 || n >= hostcap)
        return -EINVAL;
    memcpy(host, p, n);
    host[n] = 0;
    *port = atoi(colon + 1);
    if (*port <= 0 || *port > 65535)
        return -EINVAL;
    return 0;
}

int lg_http_send_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Find a header value in the head (which is NUL-terminated). */
static const char *find_header(const char *head, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *p = strstr(head, "\r\n");

    while (p && p[2]) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1, *e;
            while (*v == ' ' || *v == '\t')
                v++;
            e = strstr(v, "\r\n");
            *vlen = e ? (size_t)(e - v) : strlen(v);
            return v;
        }
        p = strstr(p, "\r\n");
    }
    return NULL;
}

/* A chunked body (RFC 9112 7.1; Janus's libmicrohttpd sends one): 1 when
 * the last chunk is in, 0 when more is needed, -EPROTO when malformed.  With
 * `out` (room for len bytes) the data is copied there and *outlen set.
 * Chunk extensions and trailers are skipped. */
static int dechunk(const char *in, size_t len, char *out, size_t *outlen)
{
    size_t pos = 0, n = 0;

    for (;;) {
        const char *eol = memmem(in + pos, len - pos, "\r\n", 2);
        char *endp;
        unsigned long size;

        if (!eol)
            return 0;
        size = strtoul(in + pos, &endp, 16);
        if (endp == in + pos || size > len)
            return -EPROTO;
        pos = (size_t)(eol - in) + 2;
        if (size == 0)
            break;
        if (len - pos < size + 2)
            return 0;
        if (out)
            memcpy(out + n, in + pos, size);
        n += size;
        pos += size + 2;
    }
    if (outlen)
        *outlen = n;
    return 1;
}

static bool is_chunked(const char *head)
{
    size_t vlen;
    const char *v = find_header(head, "Transfer-Encoding", &vlen);

    return v && vlen >= 7 && strncasecmp(v + vlen - 7, "chunked", 7) == 0;
}

/* The server may keep the connection open despite Connection: close, so
 * stop reading once Content-Length bytes of body (or the last chunk) are in. */
static int response_complete(const char *buf, size_t len)
{
    const char *end = strstr(buf, "\r\n\r\n"), *v;
    size_t vlen, hlen;
    char tmp[4096];

    if (!end || (size_t)(end - buf) >= sizeof(tmp))
        return 0;
    memcpy(tmp, buf, (size_t)(end - buf));
    tmp[end - buf] = 0;
    hlen = (size_t)(end - buf) + 4;
    if (is_chunked(tmp))
        return dechunk(buf + hlen, len - hlen, NULL, NULL) != 0;
    v = find_header(tmp, "Content-Length", &vlen);
    if (!v)
        return 0;
    return len >= hlen + strtoul(v, NULL, 10);
}

static int parse_response(char *buf, size_t len, lg_http_resp *resp)
{
    char *end = strstr(buf, "\r\n\r\n");
    const char *v;
    size_t vlen, hlen;

    if (!end || strncmp(buf, "HTTP/1.", 7) != 0 || len < 12)
        return -EPROTO;
    *end = 0;
    resp->status = atoi(buf + 9);
    v = find_header(buf, "Location", &vlen);
    if (v && vlen < sizeof(resp->location)) {
        memcpy(resp->location, v, vlen);
        resp->location[vlen] = 0;
    }
    hlen = (size_t)(end - buf) + 4;
    resp->body_len = len - hlen;
    resp->body = malloc(resp->body_len + 1);
    if (!resp->body)
        return -ENOMEM;
    if (is_chunked(buf)) {
        if (dechunk(buf + hlen, len - hlen, resp->body, &resp->body_len) != 1)
            return -EPROTO;
    } else {
        memcpy(resp->body, buf + hlen, resp->body_len);
    }
    resp->body[resp->body_len] = 0;
    return 0;
}

int lg_http_request(const char *host, int port, const char *method, const char *path,
                    const char *token, const char *ctype, const char *body, size_t body_len,
                    lg_http_resp *resp)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    struct timeval tv = { .tv_sec = 10 };
    char head[4096], *buf = NULL;
    size_t len = 0, cap = 16384;
    int fd = -1, r, one = 1, n;

    memset(resp, 0, sizeof(*resp));
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -EINVAL;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        r = -errno;
        goto fail;
    }
    n = snprintf(head, sizeof(head),
                 "%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n"
                 "Content-Length: %zu\r\n",
                 method, path, host, port, body_len);
    if (token)
        n += snprintf(head + n, sizeof(head) - (size_t)n, "Authorization: Bearer %s\r\n", token);
    if (ctype)
        n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Type: %s\r\n", ctype);
    n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
    if (n >= (int)sizeof(head)) {
        r = -E2BIG;
        goto fail;
    }
    if ((r = lg_http_send_all(fd, head, (size_t)n)) < 0)
        goto fail;
    if (body_len && (r = lg_http_send_all(fd, body, body_len)) < 0)
        goto fail;
    buf = malloc(cap);
    if (!buf) {
        r = -ENOMEM;
        goto fail;
    }
    for (;;) {
        ssize_t got;
        if (len + 1 >= cap) {
            char *nb;
            if (cap >= LG_HTTP_MAX_RESP) {
                r = -E2BIG;
                goto fail;
            }
            nb = realloc(buf, cap * 2);
            if (!nb) {
                r = -ENOMEM;
                goto fail;
            }
            buf = nb;
            cap *= 2;
        }
        got = recv(fd, buf + len, cap - len - 1, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            r = -errno;
            goto fail;
        }
        if (got == 0)
            break;
        len += (size_t)got;
        buf[len] = 0;
        if (response_complete(buf, len))
            break;
    }
    buf[len] = 0;
    r = parse_response(buf, len, resp);
fail:
    free(buf);
    if (fd >= 0)
        close(fd);
    return r;
}

void lg_http_resp_free(lg_http_resp *resp)
{
    free(resp->body);
    resp->body = NULL;
}
