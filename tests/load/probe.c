/* /proc readers and the stats / token helpers for loadgen. */
#include "probe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"

int64_t lg_proc_cpu_us(const char *proc_path)
{
    char path[128], buf[1024], *p;
    unsigned long long ut, st;
    FILE *f;
    size_t n;
    long hz = sysconf(_SC_CLK_TCK);

    snprintf(path, sizeof(path), "/proc/%s/stat", proc_path);
    f = fopen(path, "r");
    if (!f)
        return -errno;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    /* The command name may hold spaces and parentheses: fields restart
     * after the last ')'.  utime and stime are fields 14 and 15. */
    p = strrchr(buf, ')');
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                     &st) != 2)
        return -EINVAL;
    return (int64_t)((ut + st) * 1000000ull / (unsigned long long)hz);
}

int64_t lg_proc_rss_kb(int pid)
{
    char path[64], line[256];
    long long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    f = fopen(path, "r");
    if (!f)
        return -errno;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

int lg_udp_errors(uint64_t *rcvbuf, uint64_t *sndbuf)
{
    char names[1024], vals[1024];
    FILE *f = fopen("/proc/net/snmp", "r");
    int r = -ENOENT;

    *rcvbuf = *sndbuf = 0;
    if (!f)
        return -errno;
    /* Pairs of lines: "Udp: Name Name ..." then "Udp: 1 2 ...". */
    while (fgets(names, sizeof(names), f) && fgets(vals, sizeof(vals), f)) {
        char *sn, *sv, *n, *v;
        if (strncmp(names, "Udp:", 4) != 0)
            continue;
        n = strtok_r(names + 4, " \n", &sn);
        v = strtok_r(vals + 4, " \n", &sv);
        while (n && v) {
            if (strcmp(n, "RcvbufErrors") == 0)
                *rcvbuf = strtoull(v, NULL, 10);
            else if (strcmp(n, "SndbufErrors") == 0)
                *sndbuf = strtoull(v, NULL, 10);
            n = strtok_r(NULL, " \n", &sn);
            v = strtok_r(NULL, " \n", &sv);
        }
        r = 0;
        break;
    }
    fclose(f);
    return r;
}

json_t *lg_server_stats(const char *host, int port, const char *admin_token)
{
    lg_http_resp resp;
    json_t *o = NULL;

    if (!admin_token)
        return NULL;
    if (lg_http_request(host, port, "GET", "/api/stats", admin_token, NULL, NULL, 0, &resp) ==
            0 &&
        resp.status == 200)
        o = json_loadb(resp.body, resp.body_len, 0, NULL);
    lg_http_resp_free(&resp);
    if (o && !json_is_object(o)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

uint64_t lg_json_u64(const json_t *o, const char *key)
{
    json_t *v = o ? json_object_get(o, key) : NULL;
    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

char *lg_token_from_cmd(const char *cmd)
{
    char line[4096], *last = NULL;
    FILE *f = popen(cmd, "r");

    if (!f)
        return NULL;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0]) {
            free(last);
            last = strdup(line);
        }
    }
    if (pclose(f) != 0) {
        free(last);
        return NULL;
    }
    return last;
}
