#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "queue.h"
#include "workloads.h"

static uint64_t task_value(uint64_t id, uint64_t rounds)
{
    uint64_t v = id;
    for (uint64_t r = 0; r < rounds; r++)
        v = splitmix64(v);
    return v;
}

/* --placement spread, both modes: the main thread (the producer, or the spawner) has slot 0,
 * pinned before the timed region; worker w (pool mode) or task i's thread (spawn mode) has slot
 * w+1 or i+1. Those threads are created inside the timed region (the contract times thread
 * creation), each pinned by its creation attributes before it runs. */

/* Pool mode: one producer (the main thread), a bounded queue, N workers with local sums. */

struct pool_worker {
    pthread_t thread;
    struct queue *queue;
    uint64_t rounds;
    uint64_t sum;
    uint64_t count;
};

static void *pool_worker_main(void *arg)
{
    struct pool_worker *w = arg;
    uint64_t sum = 0, count = 0, id;
    while (queue_pop(w->queue, &id)) {
        sum += task_value(id, w->rounds);
        count++;
    }
    w->sum = sum;
    w->count = count;
    return NULL;
}

static uint64_t run_pool(const struct params *p, uint64_t *count, uint64_t *checksum)
{
    struct queue q;
    queue_init(&q, p->queue);
    struct pool_worker *workers = calloc(p->workers, sizeof *workers);
    if (workers == NULL)
        fatal("worker_pool", ENOMEM);

    placement_pin_self(p->placement, 0);
    uint64_t start = now_ns();
    for (uint64_t i = 0; i < p->workers; i++) {
        workers[i].queue = &q;
        workers[i].rounds = p->rounds;
        workers[i].thread = spawn_placed(p->placement, i + 1, pool_worker_main, &workers[i]);
    }
    for (uint64_t id = 0; id < p->tasks; id++)
        queue_push(&q, id);
    queue_close(&q);
    *count = 0;
    *checksum = 0;
    for (uint64_t i = 0; i < p->workers; i++) {
        join_thread(workers[i].thread);
        *count += workers[i].count;
        *checksum += workers[i].sum;
    }
    uint64_t elapsed = now_ns() - start;

    free(workers);
    queue_destroy(&q);
    return elapsed;
}

/* Spawn mode: one joinable thread with a 64 KiB stack per task, each writing its value into
 * its own slot. The main thread reaps finished threads in creation order as it goes
 * (pthread_tryjoin_np never waits), so their stacks return to glibc's cache and are reused.
 * When pthread_create reports EAGAIN (threads or mappings exhausted), it waits for the oldest
 * live thread and retries, or sleeps 1 ms when none of its own is left. */

struct spawn_task {
    uint64_t value; /* the id on the way in, the task's value on the way out */
    uint64_t rounds;
};

static void *spawn_task_main(void *arg)
{
    struct spawn_task *t = arg;
    t->value = task_value(t->value, t->rounds);
    return NULL;
}

enum { SPAWN_MAX_IDLE_RETRIES = 5000 };

static uint64_t run_spawn(const struct params *p, uint64_t *count, uint64_t *checksum)
{
    size_t n = p->tasks;
    struct spawn_task *tasks = malloc(n * sizeof *tasks);
    pthread_t *threads = malloc(n * sizeof *threads);
    if (n > 0 && (tasks == NULL || threads == NULL))
        fatal("worker_pool spawn mode", ENOMEM);
    for (size_t i = 0; i < n; i++)
        tasks[i] = (struct spawn_task){.value = i, .rounds = p->rounds};
    /* One attribute object per CPU of the placement (one under runtime placement), made before
     * the timed region: task i's thread takes attrs[(i + 1) % nattrs]. */
    const struct placement *pl = p->placement;
    size_t nattrs = pl->ncpus > 0 ? (size_t)pl->ncpus : 1;
    pthread_attr_t *attrs = malloc(nattrs * sizeof *attrs);
    if (attrs == NULL)
        fatal("worker_pool spawn mode", ENOMEM);
    for (size_t a = 0; a < nattrs; a++) {
        small_stack_attr(&attrs[a], PTHREAD_CREATE_JOINABLE);
        placement_set_attr(pl, a, &attrs[a]);
    }

    uint64_t sum = 0;
    size_t joined = 0;
    placement_pin_self(pl, 0);
    uint64_t start = now_ns();
    for (size_t i = 0; i < n; i++) {
        int err, idle_retries = 0;
        const pthread_attr_t *attr = &attrs[(i + 1) % nattrs];
        while ((err = pthread_create(&threads[i], attr, spawn_task_main, &tasks[i])) != 0) {
            if (err != EAGAIN)
                fatal("worker_pool spawn mode: pthread_create", err);
            if (joined < i) {
                join_thread(threads[joined]);
                sum += tasks[joined++].value;
            } else if (++idle_retries <= SPAWN_MAX_IDLE_RETRIES) {
                sleep_ns(1000000);
            } else {
                fatal("worker_pool spawn mode: pthread_create keeps failing", err);
            }
        }
        while (joined <= i && pthread_tryjoin_np(threads[joined], NULL) == 0)
            sum += tasks[joined++].value;
    }
    for (; joined < n; joined++) {
        join_thread(threads[joined]);
        sum += tasks[joined].value;
    }
    uint64_t elapsed = now_ns() - start;

    for (size_t a = 0; a < nattrs; a++)
        pthread_attr_destroy(&attrs[a]);
    free(attrs);
    free(threads);
    free(tasks);
    *count = joined;
    *checksum = sum;
    return elapsed;
}

uint64_t run_worker_pool(const struct params *p, char *fields, size_t size)
{
    uint64_t count, checksum;
    uint64_t elapsed = p->workers > 0 ? run_pool(p, &count, &checksum) : run_spawn(p, &count, &checksum);
    snprintf(fields, size, ", \"count\": %" PRIu64 ", \"checksum\": %" PRIu64, count, checksum);
    return elapsed;
}
