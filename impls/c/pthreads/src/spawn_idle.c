#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "workloads.h"

/* N joinable threads with a 64 KiB stack each, all created before any is joined. Each waits
 * at a barrier of N + 1 that opens when the main thread, after creating all N, reaches it too,
 * so all N are alive at once; each then sleeps with nanosleep and finishes. The result is the
 * number of threads joined. */

struct idle_args {
    pthread_barrier_t gate;
    uint64_t sleep_ns;
};

static void *idle_main(void *arg)
{
    struct idle_args *a = arg;
    pthread_barrier_wait(&a->gate);
    sleep_ns(a->sleep_ns);
    return NULL;
}

uint64_t run_spawn_idle(const struct params *p, char *fields, size_t size)
{
    size_t n = p->tasks;
    uint64_t default_stack = default_stack_bytes();
    pthread_t *threads = malloc(n * sizeof *threads);
    if (threads == NULL && n > 0)
        fatal("spawn_idle", ENOMEM);
    pthread_attr_t attr;
    small_stack_attr(&attr, PTHREAD_CREATE_JOINABLE);
    struct idle_args args = {.sleep_ns = p->sleep_ms * 1000000u};
    if (n >= UINT_MAX)
        fatal("spawn_idle: pthread_barrier_init", EINVAL);
    int err = pthread_barrier_init(&args.gate, NULL, (unsigned)n + 1);
    if (err != 0)
        fatal("spawn_idle: pthread_barrier_init", err);

    uint64_t start = now_ns();
    for (size_t i = 0; i < n; i++) {
        err = pthread_create(&threads[i], &attr, idle_main, &args);
        if (err != 0) {
            fprintf(stderr,
                    "cmbench-c: spawn_idle: pthread_create failed after %zu of %zu threads: %s\n"
                    "  (limits: ulimit -u, ulimit -v, kernel.threads-max, kernel.pid_max, vm.max_map_count)\n",
                    i, n, strerror(err));
            exit(1);
        }
    }
    pthread_barrier_wait(&args.gate);
    uint64_t done = 0;
    for (size_t i = 0; i < n; i++) {
        join_thread(threads[i]);
        done++;
    }
    uint64_t elapsed = now_ns() - start;

    pthread_barrier_destroy(&args.gate);
    pthread_attr_destroy(&attr);
    free(threads);
    snprintf(fields, size, ", \"done\": %" PRIu64 ", \"stack_bytes\": %d, \"default_stack_bytes\": %" PRIu64, done,
             SMALL_STACK_BYTES, default_stack);
    return elapsed;
}
