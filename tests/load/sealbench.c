/* sealbench: SRTP-sized AES-128-GCM seals (sfu/crypto/gcm.c) on N threads at
 * once, each pinned to a CPU and cycling through its own contexts the way
 * a worker fans a frame out to its viewers.  Two uses:
 *
 *   - the cost of one seal, direct or through EVP (--evp);
 *   - what this machine gives a perfectly parallel job: scripts/bench
 *     --saturation runs it on one CPU and then on two, so the server's
 *     two-worker ratio can be read against the same round's ceiling
 *     (on a shared VM two busy vCPUs each run slower than one).
 *
 *   sealbench [--threads N] [--cpus 0,1,..] [--seconds S] [--contexts C]
 *             [--size BYTES] [--evp]
 * prints one JSON object. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sfu/crypto/gcm.h"
#include "sfu/engine/util.h"
#include "sfu/proto/bytes.h"

#define MAX_THREADS 64
#define RUN 8     /* packets sealed per context visit: a frame's GSO run */
#define SLOTS 128 /* output slots, as a worker's send batch */

typedef struct job {
    pthread_t thread;
    int cpu; /* -1: not pinned */
    int contexts;
    size_t size;
    bool evp;
    bool direct; /* what the contexts turned out to use */
    long seals;
    double cpu_s;
    int err;
} job;

static atomic_bool stop;

static double thread_cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *run(void *arg)
{
    job *j = arg;
    if (j->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(j->cpu, &set);
        if ((j->err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) != 0)
            return NULL;
    }
    sc_gcm **g = calloc((size_t)j->contexts, sizeof(*g));
    uint8_t(*out)[1500] = malloc(SLOTS * sizeof(*out));
    uint8_t pkt[RUN][1500], key[16], iv[12] = {0}, tag[16];
    if (!g || !out) {
        j->err = ENOMEM;
        goto done;
    }
    for (int i = 0; i < j->contexts; i++) {
        sc_random(key, sizeof(key));
        if (!(g[i] = sc_gcm_new(key, true, j->evp))) {
            j->err = EIO;
            goto done;
        }
    }
    j->direct = sc_gcm_is_direct(g[0]);
    for (int k = 0; k < RUN; k++)
        sc_random(pkt[k], j->size);
    double c0 = thread_cpu_s();
    unsigned slot = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        for (int v = 0; v < j->contexts; v++) {
            for (int k = 0; k < RUN; k++, slot++) {
                uint8_t *o = out[slot % SLOTS];
                memcpy(o, pkt[k], j->size);
                sc_wr32(iv + 8, slot);
                if (sc_gcm_seal(g[v], iv, o, 12, NULL, 0, o + 12, j->size - 12, tag) < 0) {
                    j->err = EIO;
                    goto done;
                }
            }
            j->seals += RUN;
        }
    }
    j->cpu_s = thread_cpu_s() - c0;
done:
    for (int i = 0; g && i < j->contexts; i++)
        sc_gcm_free(g[i]);
    free(g);
    free(out);
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: sealbench [--threads N] [--cpus 0,1,..] [--seconds S] [--contexts C]\n"
               "                 [--size BYTES (13-1500)] [--evp]\n");
}

int main(int argc, char **argv)
{
    int threads = 1, contexts = 1000, cpus[MAX_THREADS], n_cpus = 0;
    double seconds = 3;
    size_t size = 1200;
    bool evp = false;
    static const struct option opts[] = {
        {"threads", 1, 0, 't'},  {"cpus", 1, 0, 'c'}, {"seconds", 1, 0, 's'},
        {"contexts", 1, 0, 'x'}, {"size", 1, 0, 'b'}, {"evp", 0, 0, 'e'},
        {"help", 0, 0, 'h'},     {0, 0, 0, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 't':
            threads = atoi(optarg);
            break;
        case 's':
            seconds = atof(optarg);
            break;
        case 'x':
            contexts = atoi(optarg);
            break;
        case 'b':
            size = (size_t)atol(optarg);
            break;
        case 'e':
            evp = true;
            break;
        case 'c':
            for (char *p = optarg; *p && n_cpus < MAX_THREADS;) {
                cpus[n_cpus++] = (int)strtol(p, &p, 10);
                if (*p == ',')
                    p++;
                else if (*p)
                    break;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (threads < 1 || threads > MAX_THREADS || contexts < 1 || seconds <= 0 || size < 13 ||
        size > 1500 || (n_cpus && n_cpus != threads)) {
        fprintf(stderr, "sealbench: bad arguments (--cpus must list one CPU per thread)\n");
        usage(stderr);
        return 2;
    }
    job jobs[MAX_THREADS];
    memset(jobs, 0, sizeof(jobs));
    for (int i = 0; i < threads; i++) {
        jobs[i] =
            (job){.cpu = n_cpus ? cpus[i] : -1, .contexts = contexts, .size = size, .evp = evp};
        if (pthread_create(&jobs[i].thread, NULL, run, &jobs[i]) != 0) {
            fprintf(stderr, "sealbench: cannot start thread %d\n", i);
            return 1;
        }
    }
    usleep((useconds_t)(seconds * 1e6));
    atomic_store(&stop, true);
    long total = 0;
    double cpu = 0;
    int failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(jobs[i].thread, NULL);
        if (jobs[i].err) {
            fprintf(stderr, "sealbench: thread %d: %s\n", i, strerror(jobs[i].err));
            failed++;
        }
        total += jobs[i].seals;
        cpu += jobs[i].cpu_s;
    }
    if (failed)
        return 1;
    printf(
        "{\"threads\": %d, \"seconds\": %.2f, \"contexts_per_thread\": %d, \"size\": %zu, "
        "\"direct\": %s, \"seals_per_s\": %.0f, \"cpu_ns_per_seal\": %.1f, \"per_thread_per_s\": [",
        threads, seconds, contexts, size, jobs[0].direct ? "true" : "false",
        (double)total / seconds, total ? cpu / (double)total * 1e9 : 0.0);
    for (int i = 0; i < threads; i++)
        printf("%s%.0f", i ? ", " : "", (double)jobs[i].seals / seconds);
    printf("]}\n");
    return 0;
}
