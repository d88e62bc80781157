/* sfu/engine/control.c, sfu/engine/worker.c: --worker-cpus lists are parsed into CPU numbers,
 * refused with a clear message when malformed or naming a CPU this process
 * may not use; a pinned worker runs only on its CPU; a worker's port stays
 * its own. */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sfu/engine/private.h"
#include "sfu/sfu.h"
#include "tests/unit/sc_test.h"

static int first_allowed_cpu(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) < 0)
        return -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set))
            return c;
    return -1;
}

static void test_parse(void)
{
    int cpus[8];
    char err[160];
    char list[64];
    int c = first_allowed_cpu();
    SC_CHECK(c >= 0);

    snprintf(list, sizeof(list), "%d", c);
    SC_CHECK_INT(sc__parse_cpu_list(list, cpus, 8, err, sizeof(err)), 1);
    SC_CHECK_INT(cpus[0], c);
    /* a range and a repeat keep their order */
    snprintf(list, sizeof(list), "%d-%d,%d", c, c, c);
    SC_CHECK_INT(sc__parse_cpu_list(list, cpus, 8, err, sizeof(err)), 2);
    SC_CHECK_INT(cpus[1], c);

    const char *bad[] = {"", ",", "a", "1-", "-1", "3-1", "1,,2", "1;2", "99999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        SC_CHECK_INT(sc__parse_cpu_list(bad[i], cpus, 8, err, sizeof(err)), -EINVAL);
        SC_CHECK(strstr(err, "expected CPU numbers") != NULL);
    }
    /* CPU_SETSIZE - 1 exists as a number but not on this machine */
    snprintf(list, sizeof(list), "%d", CPU_SETSIZE - 1);
    SC_CHECK_INT(sc__parse_cpu_list(list, cpus, 8, err, sizeof(err)), -EINVAL);
    SC_CHECK(strstr(err, "not one this process may run on") != NULL);
    /* more CPUs than workers can use */
    snprintf(list, sizeof(list), "%d,%d,%d", c, c, c);
    SC_CHECK_INT(sc__parse_cpu_list(list, cpus, 2, err, sizeof(err)), -EINVAL);
}

/* The pinned worker threads: every thread of ours whose allowed list is a
 * single CPU. */
static int threads_pinned_to(int cpu)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    char path[300], line[256], want[32];
    snprintf(want, sizeof(want), "Cpus_allowed_list:\t%d\n", cpu);
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof(line), f))
            n += strcmp(line, want) == 0;
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return n;
}

static void test_pinned_workers(void)
{
    sc_sfu_config cfg;
    char err[160], list[32];
    int c = first_allowed_cpu();
    cpu_set_t all;

    sc_sfu_config_defaults(&cfg);
    cfg.udp_port = (uint16_t)(30000 + getpid() % 20000);
    cfg.workers = 2;
    CPU_ZERO(&all);
    sched_getaffinity(0, sizeof(all), &all);
    if (CPU_COUNT(&all) == 1) {
        /* pinning changes nothing visible; the parse test still ran */
        return;
    }
    snprintf(list, sizeof(list), "%d", c);
    cfg.worker_cpus = list;
    sc_sfu *sfu = sc_sfu_new(&cfg, err, sizeof(err));
    SC_CHECK(sfu != NULL);
    if (!sfu) {
        fprintf(stderr, "sc_sfu_new: %s\n", err);
        return;
    }
    SC_CHECK_INT(threads_pinned_to(c), 2);
    /* The media ports are taken: a second server on them is refused (the
     * workers' SO_REUSEPORT pairs must not let it in to receive nothing). */
    sc_sfu_config again = cfg;
    again.worker_cpus = NULL;
    err[0] = '\0';
    SC_CHECK(sc_sfu_new(&again, err, sizeof(err)) == NULL);
    SC_CHECK(strstr(err, "cannot bind UDP") != NULL);
    SC_CHECK(strstr(err, "in use") != NULL);
    sc_sfu_free(sfu);

    cfg.worker_cpus = "x";
    SC_CHECK(sc_sfu_new(&cfg, err, sizeof(err)) == NULL);
    SC_CHECK(strstr(err, "worker CPU list 'x'") != NULL);
}

int main(void)
{
    test_parse();
    test_pinned_workers();
    SC_TEST_END();
}
