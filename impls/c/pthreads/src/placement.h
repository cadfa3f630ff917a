#ifndef CMBENCH_PLACEMENT_H
#define CMBENCH_PLACEMENT_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

/* --placement: where a batch workload's threads run.
 *
 * runtime (the default): nothing is pinned; the kernel places every thread on the CPUs the
 * process may use, as it likes.
 * spread: each thread is pinned to one CPU, by its slot: slot s runs on the (s mod n)-th CPU of
 * the process's affinity mask as it was at start (ascending CPU numbers, n CPUs). Each workload
 * says which thread has which slot; with one CPU in the mask every slot is that CPU. */
struct placement {
    int ncpus;              /* 0 under runtime placement */
    int cpus[CPU_SETSIZE];  /* the mask's CPUs, ascending */
};

/* Reads the calling thread's affinity mask (call it before anything is pinned) under spread;
 * under runtime placement leaves nothing to pin. Exits through fatal() on failure. */
void placement_init(struct placement *pl, bool spread);

/* Pins the calling thread to slot's CPU; nothing under runtime placement. */
void placement_pin_self(const struct placement *pl, size_t slot);

/* Adds slot's CPU to an initialised thread attribute object, so that the thread it creates is
 * pinned before it runs any of its own code; nothing under runtime placement. */
void placement_set_attr(const struct placement *pl, size_t slot, pthread_attr_t *attr);

/* Creates a thread with default attributes, pinned to slot's CPU under spread: spawn_thread(NULL,
 * ...) as before under runtime placement. Exits through fatal() on failure. */
pthread_t spawn_placed(const struct placement *pl, size_t slot, void *(*fn)(void *), void *arg);

#endif
