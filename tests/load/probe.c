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

/* The whole machine's CPU (every core): busy, total, softirq and steal
 * ticks.  On loopback the receiving half of a send runs in softirq,
 * sometimes deferred to ksoftirqd, whose time no process is charged for.
 * Steal is time the hypervisor gave our virtual CPUs to someone else: it
 * counts as busy, and none of it is ours. */
void lg_machine_cpu(uint64_t *busy, uint64_t *total, uint64_t *softirq, uint64_t *steal)
{
    unsigned long long v[8] = { 0 };
    FILE *f = fopen("/proc/stat", "r");

    *busy = *total = *softirq = *steal = 0;
    if (!f)
        return;
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7]) == 8) {
        for (int i = 0; i < 8; i++)
            *total += v[i];
        *busy = *total - v[3] - v[4];
        *softirq = v[6];
        *steal = v[7];
    }
    fclose(f);
}

int64_t lg_ksoftirqd_cpu_us(void)
{
    char path[64], comm[32];
    int64_t total = 0;

    /* The kernel starts its per-cpu threads at boot: low pids. */
    for (int pid = 2; pid < 1000; pid++) {
        FILE *f;
        snprintf(path, sizeof(path), "/proc/%d/comm", pid);
        if (!(f = fopen(path, "r")))
            continue;
        if (fgets(comm, sizeof(comm), f) && strncmp(comm, "ksoftirqd/", 10) == 0) {
            snprintf(path, sizeof(path), "%d", pid);
            int64_t us = lg_proc_cpu_us(path);
            if (us > 0)
                total += us;
        }
        fclose(f);
    }
    return total;
}

/* Per-socket drops of the namespace's IPv4 UDP sockets (/proc/net/udp's
 * last column), split by whether the socket is connected: the server's media
 * sockets are not (its ingress overflowing), the loadgen's peers are (a sink
 * viewer's discarded media, or a loadgen that did not keep up). */
void lg_udp_socket_drops(uint64_t *unconnected, uint64_t *connected)
{
    char line[512], rem[64];
    unsigned long long drops;
    FILE *f = fopen("/proc/net/udp", "r");

    *unconnected = *connected = 0;
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {  /* the header line fails the sscanf */
        if (sscanf(line, "%*s %*s %63s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu", rem,
                   &drops) != 2)
            continue;
        if (strcmp(rem, "00000000:0000") == 0)
            *unconnected += drops;
        else
            *connected += drops;
    }
    fclose(f);
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
