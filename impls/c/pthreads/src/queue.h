#ifndef CMBENCH_QUEUE_H
#define CMBENCH_QUEUE_H

#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A bounded FIFO of uint64_t: a ring buffer under one mutex, with a condition variable for
 * each side to block on and a close flag. Aligned to a cache line so that queues allocated
 * next to each other do not share one. */
struct queue {
    alignas(64) pthread_mutex_t mutex;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    uint64_t *items;
    size_t capacity;
    size_t head;
    size_t len;
    bool closed;
};

/* Exits through fatal() when the ring cannot be allocated. */
void queue_init(struct queue *q, size_t capacity);
void queue_destroy(struct queue *q);

/* Appends v, blocking while the queue is full. Must not be called after queue_close. */
void queue_push(struct queue *q, uint64_t v);

/* Takes the oldest item, blocking while the queue is empty and open. Returns false once the
 * queue is closed and drained. */
bool queue_pop(struct queue *q, uint64_t *v);

/* Marks the end of the stream and wakes every blocked consumer. */
void queue_close(struct queue *q);

#endif
