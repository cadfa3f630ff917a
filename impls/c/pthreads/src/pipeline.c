#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "queue.h"
#include "workloads.h"

#define PIPELINE_MUL 6364136223846793005u
#define FNV_OFFSET 14695981039346656037u
#define FNV_PRIME 1099511628211u

/* The producer and every stage are threads; the sink is the main thread. Stage j reads
 * queue j-1 and writes queue j; the producer writes queue 0; the sink reads queue k.
 *
 * --placement spread: the slot is the position in the chain, the producer 0, stage j j, the
 * sink k+1, so neighbours sit on different CPUs when there are two or more. The sink pins itself
 * before the timed region; the producer and the stages are created inside it (the contract
 * times thread creation), each pinned by its creation attributes before it runs. */

struct stage {
    pthread_t thread;
    struct queue *in;  /* NULL for the producer */
    struct queue *out;
    uint64_t add;      /* the stage number j, or the item count M for the producer */
};

static void *producer_main(void *arg)
{
    struct stage *s = arg;
    for (uint64_t x = 1; x <= s->add; x++)
        queue_push(s->out, x);
    queue_close(s->out);
    return NULL;
}

static void *stage_main(void *arg)
{
    struct stage *s = arg;
    uint64_t x;
    while (queue_pop(s->in, &x))
        queue_push(s->out, x * PIPELINE_MUL + s->add);
    queue_close(s->out);
    return NULL;
}

uint64_t run_pipeline(const struct params *p, char *fields, size_t size)
{
    size_t k = p->stages;
    struct queue *queues = aligned_alloc(alignof(struct queue), (k + 1) * sizeof *queues);
    struct stage *stages = calloc(k + 1, sizeof *stages);
    if (queues == NULL || stages == NULL)
        fatal("pipeline", ENOMEM);
    for (size_t i = 0; i <= k; i++)
        queue_init(&queues[i], p->capacity);

    placement_pin_self(p->placement, k + 1);
    uint64_t start = now_ns();
    stages[0] = (struct stage){.out = &queues[0], .add = p->items};
    stages[0].thread = spawn_placed(p->placement, 0, producer_main, &stages[0]);
    for (size_t j = 1; j <= k; j++) {
        stages[j] = (struct stage){.in = &queues[j - 1], .out = &queues[j], .add = j};
        stages[j].thread = spawn_placed(p->placement, j, stage_main, &stages[j]);
    }
    uint64_t count = 0, sum = 0, ord = FNV_OFFSET, x;
    while (queue_pop(&queues[k], &x)) {
        count++;
        sum += x;
        ord = (ord ^ x) * FNV_PRIME;
    }
    for (size_t j = 0; j <= k; j++)
        join_thread(stages[j].thread);
    uint64_t elapsed = now_ns() - start;

    for (size_t i = 0; i <= k; i++)
        queue_destroy(&queues[i]);
    free(stages);
    free(queues);
    snprintf(fields, size, ", \"count\": %" PRIu64 ", \"sum\": %" PRIu64 ", \"ord\": %" PRIu64, count, sum, ord);
    return elapsed;
}
