/* Measurements from outside the loadgen's own peers: /proc (server CPU and
 * RSS, our threads' CPU, UDP drop counters of the namespace), the server's
 * GET /api/stats, and minting tokens through a shell command. */
#ifndef LG_PROBE_H
#define LG_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* utime + stime of a process (or "self/task/TID") in microseconds; < 0 on error. */
int64_t lg_proc_cpu_us(const char *proc_path);
/* VmRSS of /proc/PID/status in KiB; < 0 on error. */
int64_t lg_proc_rss_kb(int pid);
/* Udp: RcvbufErrors and SndbufErrors of /proc/net/snmp (this namespace). */
int lg_udp_errors(uint64_t *rcvbuf, uint64_t *sndbuf);

/* The whole machine's CPU from /proc/stat's "cpu" line, in ticks over
 * every core: busy (all but idle and iowait), total, softirq and steal. */
void lg_machine_cpu(uint64_t *busy, uint64_t *total, uint64_t *softirq, uint64_t *steal);
/* utime + stime of every ksoftirqd thread, in microseconds. */
int64_t lg_ksoftirqd_cpu_us(void);
/* Drops of the namespace's IPv4 UDP sockets (/proc/net/udp), summed over
 * unconnected and connected sockets. */
void lg_udp_socket_drops(uint64_t *unconnected, uint64_t *connected);

/* GET /api/stats: the JSON object (json_decref it) or NULL. */
json_t *lg_server_stats(const char *host, int port, const char *admin_token);
/* An integer member, 0 when absent. */
uint64_t lg_json_u64(const json_t *o, const char *key);

/* Run cmd with /bin/sh and return its last non-empty stdout line (malloc'd). */
char *lg_token_from_cmd(const char *cmd);

#endif
