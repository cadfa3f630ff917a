#include "queue.h"

#include <errno.h>
#include <stdlib.h>

#include "common.h"

void queue_init(struct queue *q, size_t capacity)
{
    q->items = malloc(capacity * sizeof *q->items);
    if (q->items == NULL)
        fatal("queue", ENOMEM);
    q->capacity = capacity;
    q->head = 0;
    q->len = 0;
    q->closed = false;
    pthread_mutex_init(&q->mutex, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
}

void queue_destroy(struct queue *q)
{
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->not_empty);
    pthread_mutex_destroy(&q->mutex);
    free(q->items);
}

/* The condition variables are signalled after the mutex is released, so a woken thread does
 * not block again at once on the mutex. This is safe because a queue is only destroyed after
 * every thread using it has been joined. */

void queue_push(struct queue *q, uint64_t v)
{
    pthread_mutex_lock(&q->mutex);
    while (q->len == q->capacity)
        pthread_cond_wait(&q->not_full, &q->mutex);
    size_t tail = q->head + q->len;
    if (tail >= q->capacity)
        tail -= q->capacity;
    q->items[tail] = v;
    q->len++;
    pthread_mutex_unlock(&q->mutex);
    pthread_cond_signal(&q->not_empty);
}

bool queue_pop(struct queue *q, uint64_t *v)
{
    pthread_mutex_lock(&q->mutex);
    while (q->len == 0 && !q->closed)
        pthread_cond_wait(&q->not_empty, &q->mutex);
    if (q->len == 0) {
        pthread_mutex_unlock(&q->mutex);
        return false;
    }
    *v = q->items[q->head];
    if (++q->head == q->capacity)
        q->head = 0;
    q->len--;
    pthread_mutex_unlock(&q->mutex);
    pthread_cond_signal(&q->not_full);
    return true;
}

void queue_close(struct queue *q)
{
    pthread_mutex_lock(&q->mutex);
    q->closed = true;
    pthread_mutex_unlock(&q->mutex);
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
}
