#ifndef CMBENCH_WORKLOADS_H
#define CMBENCH_WORKLOADS_H

#include <stddef.h>
#include <stdint.h>

#include "placement.h"

enum counter_mode { MODE_MUTEX, MODE_ATOMIC, MODE_RACY };

/* The parameters of every batch workload; each workload reads only its own. */
struct params {
    uint64_t tasks, queue, workers, rounds;  /* worker_pool (tasks also spawn_idle) */
    uint64_t items, stages, capacity;        /* pipeline */
    uint64_t threads, increments;            /* mutex_counter */
    enum counter_mode mode;
    uint64_t roundtrips;                     /* ping_pong */
    uint64_t sleep_ms;                       /* spawn_idle */
    uint64_t sleeps, sleep_us, spinners, spin_limit_ms; /* preemption */
    const struct placement *placement; /* --placement; spawn_idle and preemption ignore it */
};

/* One iteration of a workload: builds everything, runs it, joins it. Returns the timed region
 * in nanoseconds and writes the result fields as JSON members (", \"name\": value...") into
 * fields. Resource failures exit through fatal(). */
typedef uint64_t workload_fn(const struct params *p, char *fields, size_t size);

workload_fn run_worker_pool;
workload_fn run_pipeline;
workload_fn run_mutex_counter;
workload_fn run_ping_pong;
workload_fn run_spawn_idle;
workload_fn run_preemption;

#endif
