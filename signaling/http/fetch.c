/* Outgoing requests on threads of their own (fetch.h says why). */
#include "signaling/http/fetch.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libwebsockets.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "sc_build_config.h"

#define THREAD_STACK (512 * 1024) /* the resolver and a TLS handshake */
/* What the reader keeps of an answer besides its head: the body, and room
 * for the chunked framing around it. */
#define FRAMING_SLACK 4096

typedef struct job job;

/* The requests of one front end.  The loop owns it; once the loop has
 * stopped (closed), the last thread to end frees it. */
struct sc_fetch {
    pthread_mutex_t mu;
    /* Under mu: */
    job *done_head, *done_tail;   /* back from their threads, for the loop */
    int threads;                  /* running now */
    bool closed;                  /* the loop has gone */
    /* Set at init, read by the threads (while !closed, under mu): */
    struct lws_context *ctx;      /* woken when a request ends */
    /* The loop's own: */
    sc_app *app;
    job *jobs;                    /* started, not back from their thread yet */
    int limit;
    SSL_CTX *ssl;                 /* for https: made at init (a CA file) or the first use */
    char ca_file[SC_PATH_MAX];
};

struct job {
    /* The loop's: */
    lws_sorted_usec_list_t sul;   /* the deadline */
    job *prev, *next;             /* in f->jobs */
    sc_fetch_done done;
    void *ud;
    bool answered;                /* done() ran */
    sc_fetch *f;
    /* The thread's input, set before it starts: */
    sc_fetch_url url;
    char *request;
    size_t request_len;
    SSL_CTX *ssl;                 /* a reference; NULL for http */
    uint64_t start_us, deadline_us;
    size_t max_body;
    /* The thread's output, read by the loop once the job is back: */
    int err;
    const char *why;
    int status;
    char *body;
    size_t body_len;
    uint64_t end_us;
    job *done_next;
};

/* ---- URLs ----------------------------------------------------------------------- */

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
}

/* What may stand in a request line's target: printable ASCII without
 * spaces, quotes, backslashes, angle brackets or a fragment. */
static bool target_char(char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"\\<>#`{}|^", c);
}

int sc_fetch_url_parse(const char *url, sc_fetch_url *out)
{
    const char *p, *end;
    size_t n = strlen(url), hl;

    memset(out, 0, sizeof(*out));
    if (n > SC_FETCH_URL_MAX)
        return -EINVAL;
    if (strncmp(url, "https://", 8) == 0) {
        out->tls = true;
        p = url + 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        p = url + 7;
    } else {
        return -EINVAL;
    }
    end = p + strcspn(p, "/?");
    if (p[0] == '[') { /* an IPv6 literal */
        const char *close = memchr(p, ']', (size_t)(end - p));
        struct in6_addr a6;
        hl = close ? (size_t)(close - p - 1) : 0;
        if (!close || hl == 0 || hl >= sizeof(out->host))
            return -EINVAL;
        memcpy(out->host, p + 1, hl);
        out->host[hl] = '\0';
        if (inet_pton(AF_INET6, out->host, &a6) != 1)
            return -EINVAL;
        p = close + 1;
    } else {
        hl = 0;
        while (p + hl < end && host_char(p[hl]))
            hl++;
        if (hl == 0 || hl > 253)
            return -EINVAL;
        memcpy(out->host, p, hl);
        out->host[hl] = '\0';
        p += hl;
    }
    if (p < end && *p == ':') {
        char *e;
        long port = strtol(p + 1, &e, 10);
        if (e != end || p + 1 == end || port < 1 || port > 65535 || p[1] == '+' || p[1] == '-')
            return -EINVAL;
        snprintf(out->port, sizeof(out->port), "%ld", port);
        p = end;
    }
    if (p != end) /* user:password@, or anything else a host is not */
        return -EINVAL;
    if (!out->port[0])
        snprintf(out->port, sizeof(out->port), "%s", out->tls ? "443" : "80");
    for (const char *q = end; *q; q++)
        if (!target_char(*q))
            return -EINVAL;
    snprintf(out->path, sizeof(out->path), "%s%s", *end == '/' ? "" : "/", end);
    return 0;
}

/* ---- the answer ----------------------------------------------------------------- */

/* The line at buf[*off..len) ending in CRLF: its length (without CRLF) and
 * *off past it; -1 when no CRLF comes within len. */
static long take_line(const char *buf, size_t len, size_t *off)
{
    const char *p = buf + *off;
    const char *nl = memchr(p, '\n', len - *off);
    if (!nl)
        return -1;
    long n = (long)(nl - p);
    *off += (size_t)n + 1;
    return n > 0 && p[n - 1] == '\r' ? n - 1 : n;
}

static bool header_is(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    return n > k && strncasecmp(line, name, k) == 0 && line[k] == ':';
}

/* A header's value without the spaces around it. */
static void header_value(const char *line, size_t n, const char **v, size_t *vn)
{
    const char *p = memchr(line, ':', n) + 1, *e = line + n;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *v = p;
    *vn = (size_t)(e - p);
}

/* The chunked body at buf[off..len) into body: 1, 0 (more), or an error. */
static int dechunk(const char *buf, size_t len, size_t off, bool eof, char *body, size_t cap,
                   size_t *body_len)
{
    size_t n = 0;
    for (;;) {
        size_t lo = off;
        long ln = take_line(buf, len, &off);
        if (ln < 0)
            return eof ? -EPROTO : 0;
        const char *l = buf + lo;
        size_t size = 0, i = 0;
        for (; i < (size_t)ln && isxdigit((unsigned char)l[i]); i++) {
            if (size > cap)
                return -EFBIG;
            size = size * 16 + (size_t)(l[i] <= '9' ? l[i] - '0' : (l[i] | 0x20) - 'a' + 10);
        }
        if (i == 0 || (i < (size_t)ln && l[i] != ';' && l[i] != ' ' && l[i] != '\t'))
            return -EPROTO;
        if (size == 0) { /* the last chunk; trailers up to an empty line */
            for (;;) {
                long t = take_line(buf, len, &off);
                if (t < 0)
                    return eof ? -EPROTO : 0;
                if (t == 0)
                    break;
            }
            body[n] = '\0';
            *body_len = n;
            return 1;
        }
        if (size > cap - n)
            return -EFBIG;
        if (len - off < size + 2)
            return eof ? -EPROTO : 0;
        if (buf[off + size] != '\r' || buf[off + size + 1] != '\n')
            return -EPROTO;
        memcpy(body + n, buf + off, size);
        n += size;
        off += size + 2;
    }
}

int sc__fetch_parse_answer(const char *buf, size_t len, bool eof, int *status, char *body,
                           size_t cap, size_t *body_len)
{
    size_t off = 0;

    *status = 0;
    *body_len = 0;
    for (;;) { /* 1xx answers come before the real one */
        size_t head = off;
        long ln = take_line(buf, len, &off);
        if (ln < 0)
            return len - head > SC_FETCH_HEAD_MAX ? -EFBIG : eof ? -EPROTO : 0;
        const char *l = buf + head;
        if (ln < 12 || strncmp(l, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)l[7]) ||
            l[8] != ' ' || !isdigit((unsigned char)l[9]) || !isdigit((unsigned char)l[10]) ||
            !isdigit((unsigned char)l[11]) || (ln > 12 && l[12] != ' ') || l[9] == '0')
            return -EPROTO;
        int st = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
        bool chunked = false, have_length = false;
        size_t length = 0;
        for (;;) {
            size_t lo = off;
            long hn = take_line(buf, len, &off);
            if (hn < 0)
                return len - head > SC_FETCH_HEAD_MAX ? -EFBIG : eof ? -EPROTO : 0;
            if (off - head > SC_FETCH_HEAD_MAX)
                return -EFBIG;
            if (hn == 0)
                break;
            const char *h = buf + lo, *v;
            size_t vn;
            if (!memchr(h, ':', (size_t)hn))
                return -EPROTO;
            if (header_is(h, (size_t)hn, "content-length")) {
                header_value(h, (size_t)hn, &v, &vn);
                size_t got = 0;
                if (vn == 0 || vn > 18)
                    return -EPROTO;
                for (size_t i = 0; i < vn; i++) {
                    if (!isdigit((unsigned char)v[i]))
                        return -EPROTO;
                    got = got * 10 + (size_t)(v[i] - '0');
                }
                /* Two lengths that differ: no telling where the body ends. */
                if (have_length && got != length)
                    return -EPROTO;
                have_length = true;
                length = got;
            } else if (header_is(h, (size_t)hn, "transfer-encoding")) {
                header_value(h, (size_t)hn, &v, &vn);
                if (vn != 7 || strncasecmp(v, "chunked", 7) != 0)
                    return -EPROTO;
                chunked = true;
            }
        }
        if (chunked && have_length)
            return -EPROTO;
        if (st < 200) {
            if (st == 101)
                return -EPROTO; /* no upgrade was asked for */
            continue;
        }
        *status = st;
        if (st == 204 || st == 304) {
            body[0] = '\0';
            return 1;
        }
        if (chunked)
            return dechunk(buf, len, off, eof, body, cap, body_len);
        if (have_length) {
            if (length > cap)
                return -EFBIG;
            if (len - off < length)
                return eof ? -EPROTO : 0;
        } else {
            /* Up to the close. */
            length = len - off;
            if (length > cap)
                return -EFBIG;
            if (!eof)
                return 0;
        }
        memcpy(body, buf + off, length);
        body[length] = '\0';
        *body_len = length;
        return 1;
    }
}

/* ---- the thread ------------------------------------------------------------------- */

static int fail_with(job *j, int err, const char *why)
{
    j->err = err;
    j->why = why;
    return err;
}

static int remaining_ms(const job *j)
{
    uint64_t now = sc_mono_us();
    return now >= j->deadline_us ? 0 : (int)((j->deadline_us - now + 999) / 1000);
}

/* Waits until fd is ready for ev, within the deadline: 0 or -ETIMEDOUT. */
static int wait_fd(const job *j, int fd, short ev)
{
    for (;;) {
        int ms = remaining_ms(j);
        struct pollfd p = {.fd = fd, .events = ev};
        if (ms <= 0)
            return -ETIMEDOUT;
        int n = poll(&p, 1, ms);
        if (n > 0)
            return 0;
        if (n == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

static const char *connect_why(int err)
{
    switch (err) {
    case -ECONNREFUSED: return "connection refused";
    case -ETIMEDOUT: return "timed out";
    case -EHOSTUNREACH: return "host unreachable";
    case -ENETUNREACH: return "network unreachable";
    default: return "cannot connect";
    }
}

/* Resolves and connects, trying each address in turn: the socket (non-
 * blocking) or an error. */
static int connect_to(job *j)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(j->url.host, j->url.port, &hints, &res), err = -ECONNREFUSED;

    if (rc != 0)
        return fail_with(j, -ENOENT, rc == EAI_AGAIN ? "the resolver did not answer"
                                                     : "cannot resolve the host");
    if (remaining_ms(j) <= 0) {
        freeaddrinfo(res);
        return fail_with(j, -ETIMEDOUT, "timed out resolving the host");
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0) {
            err = -errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            freeaddrinfo(res);
            return fd;
        }
        err = -errno;
        if (err == -EINPROGRESS) {
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            err = wait_fd(j, fd, POLLOUT);
            if (err == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0) {
                freeaddrinfo(res);
                return fd;
            }
            if (err == 0)
                err = -soerr;
        }
        close(fd);
        if (err == -ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    return fail_with(j, err, connect_why(err));
}

/* One connection, plain or TLS. */
typedef struct conn_io {
    int fd;
    SSL *ssl;
} conn_io;

/* What an SSL call wants before it can go on: 0 after waiting for it, or
 * an error (closed: 1 for a clean end of the stream). */
static int tls_wait(const job *j, conn_io *l, int r)
{
    switch (SSL_get_error(l->ssl, r)) {
    case SSL_ERROR_WANT_READ: return wait_fd(j, l->fd, POLLIN);
    case SSL_ERROR_WANT_WRITE: return wait_fd(j, l->fd, POLLOUT);
    case SSL_ERROR_ZERO_RETURN: return 1;
    default: return -EIO;
    }
}

static bool is_address(const char *host)
{
    uint8_t a[16];
    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

static int tls_start(job *j, conn_io *l)
{
    l->ssl = SSL_new(j->ssl);
    if (!l->ssl || SSL_set_fd(l->ssl, l->fd) != 1)
        return fail_with(j, -ENOMEM, "out of memory");
    /* The certificate must name the host (or address) of the URL. */
    if (is_address(j->url.host)) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(l->ssl), j->url.host) != 1)
            return fail_with(j, -EIO, "TLS setup failed");
    } else {
        SSL_set_hostflags(l->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (SSL_set_tlsext_host_name(l->ssl, j->url.host) != 1 ||
            SSL_set1_host(l->ssl, j->url.host) != 1)
            return fail_with(j, -EIO, "TLS setup failed");
    }
    SSL_set_verify(l->ssl, SSL_VERIFY_PEER, NULL);
    for (;;) {
        int r = SSL_connect(l->ssl), w;
        if (r == 1)
            return 0;
        if ((w = tls_wait(j, l, r)) != 0) {
            if (w == -ETIMEDOUT)
                return fail_with(j, -ETIMEDOUT, "timed out in the TLS handshake");
            if (SSL_get_verify_result(l->ssl) != X509_V_OK)
                return fail_with(j, -EIO, "certificate not trusted");
            return fail_with(j, -EIO, "TLS handshake failed");
        }
    }
}

static int send_all(job *j, conn_io *l)
{
    size_t off = 0;
    while (off < j->request_len) {
        size_t want = j->request_len - off;
        int w;
        if (l->ssl) {
            int r = SSL_write(l->ssl, j->request + off, want > INT32_MAX ? INT32_MAX : (int)want);
            if (r > 0) {
                off += (size_t)r;
                continue;
            }
            w = tls_wait(j, l, r);
        } else {
            ssize_t r = send(l->fd, j->request + off, want, MSG_NOSIGNAL);
            if (r > 0) {
                off += (size_t)r;
                continue;
            }
            w = r < 0 && (errno == EAGAIN || errno == EINTR) ? wait_fd(j, l->fd, POLLOUT)
                                                             : -ECONNRESET;
        }
        if (w == -ETIMEDOUT)
            return fail_with(j, -ETIMEDOUT, "timed out sending the request");
        if (w != 0)
            return fail_with(j, -ECONNRESET, "closed while sending the request");
    }
    return 0;
}

/* Some bytes into buf: how many, 0 at the end of the stream, or an error. */
static ssize_t receive(job *j, conn_io *l, char *buf, size_t cap)
{
    for (;;) {
        int w;
        if (l->ssl) {
            int r = SSL_read(l->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
            if (r > 0)
                return r;
            w = tls_wait(j, l, r);
            if (w == 1)
                return 0;
        } else {
            ssize_t r = recv(l->fd, buf, cap, 0);
            if (r >= 0)
                return r;
            w = errno == EAGAIN || errno == EINTR ? wait_fd(j, l->fd, POLLIN) : -ECONNRESET;
        }
        if (w != 0)
            return w;
    }
}

static int read_answer(job *j, conn_io *l)
{
    size_t cap = SC_FETCH_HEAD_MAX + 2 * j->max_body + FRAMING_SLACK, len = 0;
    char *buf = malloc(cap);
    int r = 0;

    j->body = malloc(j->max_body + 1);
    if (!buf || !j->body) {
        free(buf);
        return fail_with(j, -ENOMEM, "out of memory");
    }
    while (r == 0) {
        if (len == cap) {
            r = -EFBIG;
            break;
        }
        ssize_t n = receive(j, l, buf + len, cap - len);
        if (n < 0) {
            r = (int)n;
            break;
        }
        len += (size_t)n;
        r = sc__fetch_parse_answer(buf, len, n == 0, &j->status, j->body, j->max_body,
                                   &j->body_len);
    }
    free(buf);
    switch (r) {
    case 1: return 0;
    case -EFBIG: return fail_with(j, -EFBIG, "the answer is too long");
    case -EPROTO:
        return fail_with(j, -EPROTO, len ? "not an HTTP answer" : "closed without an answer");
    case -ETIMEDOUT: return fail_with(j, -ETIMEDOUT, "timed out waiting for the answer");
    default: return fail_with(j, -ECONNRESET, "the connection broke");
    }
}

static void run(job *j)
{
    conn_io l = {.fd = -1, .ssl = NULL};

    if ((l.fd = connect_to(j)) < 0)
        return;
    if ((!j->url.tls || tls_start(j, &l) == 0) && send_all(j, &l) == 0)
        read_answer(j, &l);
    /* No close_notify: the answer's own framing said it was whole, and
     * after a TLS error OpenSSL must not be asked for one. */
    SSL_free(l.ssl);
    close(l.fd);
    ERR_clear_error();
}

static void job_free(job *j)
{
    if (!j)
        return;
    free(j->request);
    free(j->body);
    SSL_CTX_free(j->ssl);
    free(j);
}

static void fetch_free(sc_fetch *f)
{
    pthread_mutex_destroy(&f->mu);
    SSL_CTX_free(f->ssl);
    free(f);
}

static void *job_main(void *arg)
{
    job *j = arg;
    sc_fetch *f = j->f;
    bool last = false;

    run(j);
    j->end_us = sc_mono_us();
    pthread_mutex_lock(&f->mu);
    f->threads--;
    if (f->closed) {
        job_free(j);
        last = f->threads == 0;
    } else {
        j->done_next = NULL;
        if (f->done_tail)
            f->done_tail->done_next = j;
        else
            f->done_head = j;
        f->done_tail = j;
        lws_cancel_service(f->ctx);
    }
    pthread_mutex_unlock(&f->mu);
    if (last)
        fetch_free(f);
    return NULL;
}

/* ---- the loop's side --------------------------------------------------------------- */

static void answer(job *j, const sc_fetch_result *res)
{
    if (j->answered)
        return;
    j->answered = true;
    j->done(j->f->app, j->ud, res);
}

static void on_deadline(lws_sorted_usec_list_t *sul)
{
    job *j = lws_container_of(sul, job, sul);
    sc_fetch_result res = {.err = -ETIMEDOUT, .why = "timed out",
                           .elapsed_us = (int64_t)(sc_mono_us() - j->start_us)};
    answer(j, &res);
}

static SSL_CTX *client_ctx(const char *ca_file, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_default_verify_paths(ctx) != 1) {
        snprintf(err, errlen, "cannot set up TLS for outgoing requests");
        SSL_CTX_free(ctx);
        return NULL;
    }
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    /* Servers that close without close_notify are common; the answer's own
     * framing says whether it is whole. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    if (ca_file && ca_file[0] && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        snprintf(err, errlen, "cannot read CA certificates from %s", ca_file);
        SSL_CTX_free(ctx);
        ERR_clear_error();
        return NULL;
    }
    return ctx;
}

int sc__fetch_init(sc_app *app, int limit, const char *ca_file, char *err, size_t errlen)
{
    sc_fetch *f = calloc(1, sizeof(*f));
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_init(&f->mu, NULL);
    f->app = app;
    f->ctx = app->loop;
    f->limit = limit;
    snprintf(f->ca_file, sizeof(f->ca_file), "%s", ca_file ? ca_file : "");
    /* A CA file given is read now, so a bad one stops the start. */
    if (f->ca_file[0] && !(f->ssl = client_ctx(f->ca_file, err, errlen))) {
        fetch_free(f);
        return -1;
    }
    app->fetch = f;
    return 0;
}

/* "POST path HTTP/1.1" and its headers, then the body. */
static char *build_request(const sc_fetch_url *u, const sc_fetch_req *req, size_t *len)
{
    bool v6 = strchr(u->host, ':') != NULL;
    bool default_port = strcmp(u->port, u->tls ? "443" : "80") == 0;
    const char *extra = req->headers ? req->headers : "";
    size_t cap = strlen(u->path) + strlen(u->host) + strlen(extra) + req->body_len + 512;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    int n = snprintf(out, cap,
                     "POST %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\nUser-Agent: stagecast/%s\r\n"
                     "Accept: application/json\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n%s\r\n",
                     u->path, v6 ? "[" : "", u->host, v6 ? "]" : "", default_port ? "" : ":",
                     default_port ? "" : u->port, SC_VERSION,
                     req->content_type ? req->content_type : "application/json", req->body_len,
                     extra);
    if (n < 0 || (size_t)n + req->body_len >= cap) {
        free(out);
        return NULL;
    }
    memcpy(out + n, req->body, req->body_len);
    *len = (size_t)n + req->body_len;
    return out;
}

int sc_fetch_start(sc_app *app, const sc_fetch_req *req, sc_fetch_done done, void *ud)
{
    sc_fetch *f = app->fetch;
    job *j;
    pthread_attr_t attr;
    pthread_t tid;
    char err[256];
    int rc;

    if (!f || !app->loop)
        return -EAGAIN;
    if (req->timeout_ms < 1 || req->timeout_ms > SC_FETCH_TIMEOUT_MAX_MS)
        return -EINVAL;
    if (!(j = calloc(1, sizeof(*j))))
        return -ENOMEM;
    if (sc_fetch_url_parse(req->url, &j->url) < 0) {
        free(j);
        return -EINVAL;
    }
    if (sc_fetch_in_flight(app) >= f->limit) {
        free(j);
        return -EBUSY;
    }
    if (j->url.tls) {
        if (!f->ssl && !(f->ssl = client_ctx(NULL, err, sizeof(err)))) {
            SC_WARN("fetch", "%s", err);
            free(j);
            return -ENOMEM;
        }
        SSL_CTX_up_ref(f->ssl);
        j->ssl = f->ssl;
    }
    j->f = f;
    j->done = done;
    j->ud = ud;
    j->max_body = req->max_body;
    j->start_us = sc_mono_us();
    j->deadline_us = j->start_us + (uint64_t)req->timeout_ms * 1000;
    if (!(j->request = build_request(&j->url, req, &j->request_len))) {
        job_free(j);
        return -ENOMEM;
    }
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, THREAD_STACK);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&f->mu);
    rc = pthread_create(&tid, &attr, job_main, j);
    if (rc == 0)
        f->threads++;
    pthread_mutex_unlock(&f->mu);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        job_free(j);
        return -EAGAIN;
    }
    j->next = f->jobs;
    if (f->jobs)
        f->jobs->prev = j;
    f->jobs = j;
    lws_sul_schedule(app->loop, 0, &j->sul, on_deadline, (lws_usec_t)req->timeout_ms * 1000);
    return 0;
}

int sc_fetch_in_flight(const sc_app *app)
{
    sc_fetch *f = app->fetch;
    int n;
    if (!f)
        return 0;
    pthread_mutex_lock(&f->mu);
    n = f->threads;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static void unlink_job(sc_fetch *f, job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        f->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    lws_sul_cancel(&j->sul);
}

/* Answers the requests back from their threads. */
static void poll_jobs(sc_fetch *f)
{
    job *j;

    pthread_mutex_lock(&f->mu);
    j = f->done_head;
    f->done_head = f->done_tail = NULL;
    pthread_mutex_unlock(&f->mu);
    while (j) {
        job *next = j->done_next;
        sc_fetch_result res = {.err = j->err, .why = j->why, .status = j->status,
                               .body = j->body ? j->body : "", .body_len = j->body_len,
                               .elapsed_us = (int64_t)(j->end_us - j->start_us)};
        unlink_job(f, j);
        answer(j, &res);
        job_free(j);
        j = next;
    }
}

void sc__fetch_poll(sc_app *app)
{
    if (app->fetch)
        poll_jobs(app->fetch);
}

void sc__fetch_stop(sc_app *app)
{
    sc_fetch *f = app ? app->fetch : NULL;
    sc_fetch_result cancelled = {.err = -ECANCELED, .why = "the server is stopping"};
    job *back;
    bool last;

    if (!f)
        return;
    app->fetch = NULL; /* nothing new from the callbacks below */
    poll_jobs(f);      /* what has come back is answered as it is */
    /* The rest are answered now; while !closed their threads only ever
     * queue them, so they are still here to walk. */
    for (job *j = f->jobs; j; j = j->next) {
        lws_sul_cancel(&j->sul);
        answer(j, &cancelled);
    }
    pthread_mutex_lock(&f->mu);
    f->closed = true; /* from here on the threads free their own jobs */
    back = f->done_head;
    f->done_head = f->done_tail = NULL;
    last = f->threads == 0;
    pthread_mutex_unlock(&f->mu);
    while (back) {
        job *next = back->done_next;
        job_free(back);
        back = next;
    }
    if (last)
        fetch_free(f);
}
