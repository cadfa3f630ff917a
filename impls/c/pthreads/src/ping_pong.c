#include <inttypes.h>
#include <stdio.h>

#include "common.h"
#include "queue.h"
#include "workloads.h"

/* The two one-slot channels are the bounded queue with capacity 1: a mutex and a condition
 * variable for each side, so each hop blocks in pthread_cond_wait until the other side
 * signals.
 *
 * --placement spread: task A (the main thread) has slot 0 and task B slot 1, so on two CPUs or
 * more the players sit on different CPUs. The main thread pins itself before the timed region;
 * B is created inside it (the contract times thread creation), pinned by its creation
 * attributes before it runs. */

struct pong_side {
    struct queue *ping;
    struct queue *pong;
    uint64_t roundtrips;
};

static void *pong_main(void *arg)
{
    struct pong_side *b = arg;
    uint64_t token;
    for (uint64_t r = 0; r < b->roundtrips; r++) {
        queue_pop(b->ping, &token);
        queue_push(b->pong, token + 1);
    }
    return NULL;
}

uint64_t run_ping_pong(const struct params *p, char *fields, size_t size)
{
    struct queue ping, pong;
    queue_init(&ping, 1);
    queue_init(&pong, 1);
    struct pong_side b = {.ping = &ping, .pong = &pong, .roundtrips = p->roundtrips};

    placement_pin_self(p->placement, 0);
    uint64_t start = now_ns();
    pthread_t thread = spawn_placed(p->placement, 1, pong_main, &b);
    uint64_t token = 0;
    for (uint64_t r = 0; r < p->roundtrips; r++) {
        queue_push(&ping, token);
        queue_pop(&pong, &token);
        token++;
    }
    join_thread(thread);
    uint64_t elapsed = now_ns() - start;

    queue_destroy(&pong);
    queue_destroy(&ping);
    snprintf(fields, size, ", \"roundtrips\": %" PRIu64 ", \"token\": %" PRIu64, p->roundtrips, token);
    return elapsed;
}
