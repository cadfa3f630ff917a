#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "workloads.h"

/* The main thread sleeps S times while K threads spin, all pinned to one CPU: the main thread
 * moves itself to the first CPU it may use before starting the spinners, which inherit that
 * affinity, and restores its own affinity after the iteration. The kernel decides when the
 * woken sleeper gets the CPU back from a spinner. */

struct spin_args {
    atomic_bool done;
    uint64_t limit_ns;
};

static void *spinner_main(void *arg)
{
    struct spin_args *a = arg;
    uint64_t start = now_ns();
    for (;;) {
        for (int i = 0; i < 4096; i++)
            if (atomic_load_explicit(&a->done, memory_order_relaxed))
                return NULL;
        if (now_ns() - start >= a->limit_ns)
            return NULL;
    }
}

static int by_value(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

uint64_t run_preemption(const struct params *p, char *fields, size_t size)
{
    size_t sleeps = p->sleeps, spinners = p->spinners;
    uint64_t nap = p->sleep_us * 1000u;
    uint64_t *late = malloc(sleeps * sizeof *late);
    pthread_t *threads = malloc((spinners ? spinners : 1) * sizeof *threads);
    if (late == NULL || threads == NULL)
        fatal("preemption", ENOMEM);
    struct spin_args args = {.limit_ns = p->spin_limit_ms * 1000000u};
    atomic_init(&args.done, false);

    cpu_set_t allowed, one;
    int err = pthread_getaffinity_np(pthread_self(), sizeof allowed, &allowed);
    if (err != 0)
        fatal("preemption: pthread_getaffinity_np", err);
    int first = 0;
    while (first < CPU_SETSIZE - 1 && !CPU_ISSET(first, &allowed))
        first++;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    err = pthread_setaffinity_np(pthread_self(), sizeof one, &one);
    if (err != 0)
        fatal("preemption: pthread_setaffinity_np", err);

    uint64_t start = now_ns();
    for (size_t i = 0; i < spinners; i++)
        threads[i] = spawn_thread(NULL, spinner_main, &args);
    for (size_t i = 0; i < sleeps; i++) {
        uint64_t before = now_ns();
        sleep_ns(nap);
        uint64_t took = now_ns() - before;
        late[i] = took > nap ? took - nap : 0;
    }
    atomic_store_explicit(&args.done, true, memory_order_relaxed);
    for (size_t i = 0; i < spinners; i++)
        join_thread(threads[i]);
    uint64_t elapsed = now_ns() - start;

    err = pthread_setaffinity_np(pthread_self(), sizeof allowed, &allowed);
    if (err != 0)
        fatal("preemption: pthread_setaffinity_np", err);
    qsort(late, sleeps, sizeof *late, by_value);
    snprintf(fields, size, ", \"sleeps\": %zu, \"timer_late_p50\": %" PRIu64 ", \"timer_late_max\": %" PRIu64, sleeps,
             late[(sleeps - 1) / 2], late[sleeps - 1]);
    free(threads);
    free(late);
    return elapsed;
}
