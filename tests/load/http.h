/* A tiny blocking HTTP/1.1 client for the load generator: one request per
 * TCP connection (Connection: close), loopback only. */
#ifndef LG_HTTP_H
#define LG_HTTP_H

#include <stddef.h>

typedef struct lg_http_resp {
    int status;
    char location[512];  /* Location header, "" when absent */
    char *body;          /* malloc'd, NUL-terminated; caller frees */
    size_t body_len;
} lg_http_resp;

/* Parse "http://HOST:PORT" (HOST must be a dotted IPv4 address). 0 or -EINVAL. */
int lg_http_parse_url(const char *url, char *host, size_t hostcap, int *port);

/* method, path, optional bearer token, content type and body.  Fills *resp
 * (status 0 when the exchange failed).  0 or a negative errno. */
int lg_http_request(const char *host, int port, const char *method, const char *path,
                    const char *token, const char *ctype, const char *body, size_t body_len,
                    lg_http_resp *resp);
void lg_http_resp_free(lg_http_resp *resp);

/* Write all of buf to a blocking socket (MSG_NOSIGNAL).  0 or a negative errno. */
int lg_http_send_all(int fd, const char *buf, size_t len);

#endif
