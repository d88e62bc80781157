/* libFuzzer target for the serve configuration's readers
 * (signaling/app/config_file.c, config.c): the input is a --config file's
 * bytes, then optionally a NUL byte (which no YAML file holds) and
 * STAGECAST_<OPTION>=value lines standing for the environment.  Both are
 * read over the defaults in the order serve reads them (file, then
 * environment), then the options that go together are checked, and
 * --worker-cpus goes through the media plane's CPU list parser as it would
 * at start.
 *
 * Aborts on broken invariants: a failure without a message (or, for the
 * file, without "FILE:LINE: "), a string option not terminated in its
 * field, a value outside its limits (the port, the TURN URL count), a CPU
 * list parsed into more CPUs than asked or ones out of range. */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/engine/private.h"
#include "signaling/app/config.h"

#define FILE_NAME "fuzz.yaml"

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz-config: %s\n", what);
        abort();
    }
}

typedef struct env {
    const char *text; /* NAME=value lines */
    size_t len;
    char value[4096];
} env;

static const char *env_lookup(const char *name, void *ud)
{
    env *e = ud;
    size_t n = strlen(name);

    for (const char *p = e->text, *end = e->text + e->len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (len > n && memcmp(p, name, n) == 0 && p[n] == '=') {
            /* what getenv gives: up to the first NUL */
            snprintf(e->value, sizeof(e->value), "%.*s", (int)(len - n - 1), p + n + 1);
            return e->value;
        }
        p += len + 1;
    }
    return NULL;
}

#define TERMINATED(field) check(memchr(cfg->field, '\0', sizeof(cfg->field)) != NULL, #field)

static void check_config(const sc_config *cfg)
{
    TERMINATED(listen_addr);
    TERMINATED(media_ip);
    TERMINATED(data_dir);
    TERMINATED(worker_cpus);
    TERMINATED(ui_dir);
    TERMINATED(log_level);
    TERMINATED(log_format);
    TERMINATED(video_codec);
    TERMINATED(recordings_dir);
    TERMINATED(secret_file);
    TERMINATED(tls_cert);
    TERMINATED(tls_key);
    TERMINATED(config_file);
    TERMINATED(turn_secret_file);
    check(cfg->listen_port >= 0 && cfg->listen_port <= 65535, "listen port");
    check(cfg->n_turn_urls >= 0 && cfg->n_turn_urls <= SC_TURN_URLS_MAX, "TURN URL count");
    for (int i = 0; i < cfg->n_turn_urls; i++)
        TERMINATED(turn_urls[i]);
}

static void check_cpus(const char *list)
{
    int cpus[8], n;
    char err[512] = "";

    n = sc__parse_cpu_list(list, cpus, 8, err, sizeof(err));
    check(n >= 0 || err[0], "cpu list: a failure without a message");
    check(n <= 8, "cpu list: more than asked");
    for (int i = 0; i < n; i++)
        check(cpus[i] >= 0 && cpus[i] < CPU_SETSIZE, "cpu list: out of range");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    const char *nul = memchr(buf, '\0', size);
    size_t yaml_len = nul ? (size_t)(nul - buf) : size;
    env e = {.text = nul ? nul + 1 : "", .len = nul ? size - yaml_len - 1 : 0};
    static sc_config cfg;
    char err[512];
    int r;

    sc_config_defaults(&cfg);
    err[0] = '\0';
    r = sc_config_load_yaml(&cfg, FILE_NAME, buf, yaml_len, err, sizeof(err));
    check(r == 0 || r == -EINVAL, "file: result");
    check(r == 0 || strncmp(err, FILE_NAME ":", sizeof(FILE_NAME)) == 0, "file: message");
    check_config(&cfg);
    if (r == 0) {
        r = sc__config_apply_env(&cfg, env_lookup, &e, err, sizeof(err));
        check(r == 0 || (r == -EINVAL && strstr(err, "STAGECAST_")), "environment: message");
        check_config(&cfg);
    }
    if (r == 0) {
        r = sc__config_check(&cfg, err, sizeof(err));
        check(r == 0 || err[0], "check: message");
    }
    if (cfg.worker_cpus[0])
        check_cpus(cfg.worker_cpus);
    return 0;
}
