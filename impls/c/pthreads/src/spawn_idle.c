#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "workloads.h"

/* N joinable threads with a 64 KiB stack each, all created before any is joined; each sleeps
 * with nanosleep and finishes. The result is the number of threads joined. */

static void *idle_main(void *arg)
{
    const uint64_t *sleep_ns_p = arg;
    sleep_ns(*sleep_ns_p);
    return NULL;
}

uint64_t run_spawn_idle(const struct params *p, char *fields, size_t size)
{
    size_t n = p->tasks;
    pthread_t *threads = malloc(n * sizeof *threads);
    if (threads == NULL && n > 0)
        fatal("spawn_idle", ENOMEM);
    pthread_attr_t attr;
    small_stack_attr(&attr, PTHREAD_CREATE_JOINABLE);
    uint64_t sleep_for = p->sleep_ms * 1000000u;

    uint64_t start = now_ns();
    for (size_t i = 0; i < n; i++) {
        int err = pthread_create(&threads[i], &attr, idle_main, &sleep_for);
        if (err != 0) {
            fprintf(stderr,
                    "cmbench-c: spawn_idle: pthread_create failed after %zu of %zu threads: %s\n"
                    "  (limits: ulimit -u, ulimit -v, kernel.threads-max, kernel.pid_max, vm.max_map_count)\n",
                    i, n, strerror(err));
            exit(1);
        }
    }
    uint64_t done = 0;
    for (size_t i = 0; i < n; i++) {
        join_thread(threads[i]);
        done++;
    }
    uint64_t elapsed = now_ns() - start;

    pthread_attr_destroy(&attr);
    free(threads);
    snprintf(fields, size, ", \"done\": %" PRIu64 ", \"stack_bytes\": %d", done, SMALL_STACK_BYTES);
    return elapsed;
}
