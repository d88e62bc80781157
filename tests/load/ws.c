/* Blocking RFC 6455 client: see ws.h. */
#include "ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "http.h"
#include "sfu/engine/util.h"

#define LG_WS_MAX_MSG (4 * 1024 * 1024)

struct lg_ws {
    int fd;
};

static int read_all(int fd, uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n == 0)
            return -ECONNRESET;
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

/* Sec-WebSocket-Accept for key: base64(SHA-1(key + the RFC's GUID)). */
static void accept_value(const char *key, char out[64])
{
    char in[128];
    uint8_t md[20];
    unsigned mdlen = 0;
    snprintf(in, sizeof(in), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    EVP_Digest(in, strlen(in), md, &mdlen, EVP_sha1(), NULL);
    EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

lg_ws *lg_ws_open(const char *host, int port, const char *path, const char *protocol, char *err,
                  size_t errlen)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {.tv_sec = 10};
    int one = 1;
    uint8_t nonce[16];
    char key[32], want[64], req[512], resp[2048], proto[128] = "";
    size_t got = 0;

    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "ws: bad host %s", host);
        return NULL;
    }
    lg_ws *ws = calloc(1, sizeof(*ws));
    if (!ws || (ws->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        snprintf(err, errlen, "ws: socket: %s", strerror(errno));
        free(ws);
        return NULL;
    }
    setsockopt(ws->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(ws->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(ws->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        snprintf(err, errlen, "ws: connect %s:%d: %s", host, port, strerror(errno));
        goto fail;
    }
    sc_random(nonce, sizeof(nonce));
    EVP_EncodeBlock((unsigned char *)key, nonce, sizeof(nonce));
    accept_value(key, want);
    if (protocol)
        snprintf(proto, sizeof(proto), "Sec-WebSocket-Protocol: %s\r\n", protocol);
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     path, host, port, key, proto);
    if (lg_http_send_all(ws->fd, req, (size_t)n) < 0) {
        snprintf(err, errlen, "ws: send: %s", strerror(errno));
        goto fail;
    }
    /* Read the response head byte by byte: nothing after it may be lost. */
    while (got + 1 < sizeof(resp)) {
        if (read_all(ws->fd, (uint8_t *)resp + got, 1) < 0) {
            snprintf(err, errlen, "ws: no upgrade response");
            goto fail;
        }
        resp[++got] = 0;
        if (got >= 4 && memcmp(resp + got - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    char *acc = strcasestr(resp, "\r\nSec-WebSocket-Accept:");
    if (strncmp(resp, "HTTP/1.1 101", 12) != 0 || !acc) {
        snprintf(err, errlen, "ws: upgrade refused: %.40s", resp);
        goto fail;
    }
    acc += strlen("\r\nSec-WebSocket-Accept:");
    while (*acc == ' ')
        acc++;
    if (strncmp(acc, want, strlen(want)) != 0) {
        snprintf(err, errlen, "ws: wrong Sec-WebSocket-Accept");
        goto fail;
    }
    return ws;
fail:
    lg_ws_close(ws);
    return NULL;
}

int lg_ws_fd(const lg_ws *ws)
{
    return ws->fd;
}

void lg_ws_close(lg_ws *ws)
{
    if (!ws)
        return;
    if (ws->fd >= 0)
        close(ws->fd);
    free(ws);
}

/* One frame, FIN set, masked as a client must. */
static int send_frame(lg_ws *ws, int opcode, const uint8_t *data, size_t len)
{
    uint8_t head[14], mask[4];
    size_t h = 0;
    head[h++] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        head[h++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        head[h++] = 0x80 | 126;
        head[h++] = (uint8_t)(len >> 8);
        head[h++] = (uint8_t)len;
    } else {
        head[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            head[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    sc_random(mask, sizeof(mask));
    memcpy(head + h, mask, 4);
    h += 4;
    uint8_t *buf = malloc(h + len);
    if (!buf)
        return -ENOMEM;
    memcpy(buf, head, h);
    for (size_t i = 0; i < len; i++)
        buf[h + i] = data[i] ^ mask[i % 4];
    int rc = lg_http_send_all(ws->fd, (const char *)buf, h + len);
    free(buf);
    return rc;
}

int lg_ws_send(lg_ws *ws, const char *text, size_t len)
{
    return send_frame(ws, 1, (const uint8_t *)text, len);
}

char *lg_ws_recv(lg_ws *ws)
{
    char *msg = NULL;
    size_t len = 0;
    for (;;) {
        uint8_t h[2], ext[8];
        if (read_all(ws->fd, h, 2) < 0)
            break;
        bool fin = h[0] & 0x80;
        int op = h[0] & 0x0f;
        uint64_t n = h[1] & 0x7f;
        if (h[1] & 0x80)
            break; /* a server must not mask */
        if (n == 126 || n == 127) {
            size_t k = n == 126 ? 2 : 8;
            if (read_all(ws->fd, ext, k) < 0)
                break;
            n = 0;
            for (size_t i = 0; i < k; i++)
                n = n << 8 | ext[i];
        }
        if (n > LG_WS_MAX_MSG || len + n > LG_WS_MAX_MSG)
            break;
        uint8_t *payload = malloc(n + 1);
        if (!payload || read_all(ws->fd, payload, n) < 0) {
            free(payload);
            break;
        }
        if (op == 9) { /* ping: pong with the same payload */
            int rc = send_frame(ws, 10, payload, n);
            free(payload);
            if (rc < 0)
                break;
            continue;
        }
        if (op == 8 || (op != 0 && op != 1 && op != 2 && op != 10)) {
            free(payload);
            break;
        }
        if (op == 10) {
            free(payload);
            continue;
        }
        char *grown = realloc(msg, len + n + 1);
        if (!grown) {
            free(payload);
            break;
        }
        msg = grown;
        memcpy(msg + len, payload, n);
        len += n;
        msg[len] = 0;
        free(payload);
        if (fin)
            return msg;
    }
    free(msg);
    return NULL;
}
