#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "workloads.h"

struct counter {
    pthread_mutex_t mutex;
    uint64_t value;
    /* The atomic mode's counter. Relaxed ordering is enough: only the total matters, and
     * pthread_join orders every increment before the final read. */
    _Atomic uint64_t atomic_value;
};

struct counter_worker {
    pthread_t thread;
    struct counter *counter;
    uint64_t increments;
};

static void *mutex_worker_main(void *arg)
{
    struct counter_worker *w = arg;
    struct counter *c = w->counter;
    for (uint64_t i = 0; i < w->increments; i++) {
        pthread_mutex_lock(&c->mutex);
        c->value++;
        pthread_mutex_unlock(&c->mutex);
    }
    return NULL;
}

/* The deliberate race: a relaxed load, an add and a relaxed store, with no atomic
 * read-modify-write, so another thread's store between the load and the store is overwritten.
 * Relaxed atomics keep it free of the undefined behaviour of a plain data race, and the compiler
 * keeps one load and one store per increment. */
static void *racy_worker_main(void *arg)
{
    struct counter_worker *w = arg;
    struct counter *c = w->counter;
    for (uint64_t i = 0; i < w->increments; i++) {
        uint64_t v = atomic_load_explicit(&c->atomic_value, memory_order_relaxed);
        atomic_store_explicit(&c->atomic_value, v + 1, memory_order_relaxed);
    }
    return NULL;
}

static void *atomic_worker_main(void *arg)
{
    struct counter_worker *w = arg;
    struct counter *c = w->counter;
    for (uint64_t i = 0; i < w->increments; i++)
        atomic_fetch_add_explicit(&c->atomic_value, 1, memory_order_relaxed);
    return NULL;
}

uint64_t run_mutex_counter(const struct params *p, char *fields, size_t size)
{
    struct counter c = {.value = 0};
    pthread_mutex_init(&c.mutex, NULL);
    atomic_init(&c.atomic_value, 0);
    struct counter_worker *workers = calloc(p->threads, sizeof *workers);
    if (workers == NULL && p->threads > 0)
        fatal("mutex_counter", ENOMEM);
    void *(*worker_main)(void *) = p->mode == MODE_MUTEX    ? mutex_worker_main
                                   : p->mode == MODE_ATOMIC ? atomic_worker_main
                                                            : racy_worker_main;

    /* --placement spread: worker t has slot t; the main thread, which only creates and joins
     * them, slot 0, pinned before the timed region. The workers are created inside it (the
     * contract times thread creation), each pinned by its creation attributes before it runs. */
    placement_pin_self(p->placement, 0);
    uint64_t start = now_ns();
    for (uint64_t i = 0; i < p->threads; i++) {
        workers[i] = (struct counter_worker){.counter = &c, .increments = p->increments};
        workers[i].thread = spawn_placed(p->placement, i, worker_main, &workers[i]);
    }
    for (uint64_t i = 0; i < p->threads; i++)
        join_thread(workers[i].thread);
    uint64_t final = p->mode == MODE_MUTEX ? c.value : atomic_load_explicit(&c.atomic_value, memory_order_relaxed);
    uint64_t elapsed = now_ns() - start;

    free(workers);
    pthread_mutex_destroy(&c.mutex);
    if (p->mode == MODE_RACY)
        snprintf(fields, size, ", \"final\": %" PRIu64 ", \"lost_updates\": %" PRIu64, final,
                 p->threads * p->increments - final);
    else
        snprintf(fields, size, ", \"final\": %" PRIu64, final);
    return elapsed;
}
