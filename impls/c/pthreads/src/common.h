#ifndef CMBENCH_COMMON_H
#define CMBENCH_COMMON_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Stack size of the short-lived and idle threads: worker_pool spawn mode, spawn_idle and
 * the HTTP connection threads. Long-lived workers keep the default stack. */
#define SMALL_STACK_BYTES (64 * 1024)

static inline uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15u;
    uint64_t z = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Prints "cmbench-c: <what>: <strerror(err)>" on stderr and exits with status 1. */
_Noreturn void fatal(const char *what, int err);

/* Initialises *attr for a joinable (or detached) thread with SMALL_STACK_BYTES of stack. */
void small_stack_attr(pthread_attr_t *attr, int detach_state);

/* pthread_create that exits through fatal() on failure. */
pthread_t spawn_thread(const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

/* Joins a thread, exiting through fatal() on failure. */
void join_thread(pthread_t thread);

/* The stack size a thread created with default attributes gets, read inside such a thread with
 * pthread_getattr_np (glibc takes it from RLIMIT_STACK at start: `ulimit -s`). 0 if unknown. */
uint64_t default_stack_bytes(void);

/* Sleeps for the given number of nanoseconds, resuming after signals. */
void sleep_ns(uint64_t ns);

/* Raises a resource limit's soft value to its hard value, warning on stderr on failure. */
void raise_limit(int resource, const char *name);

#endif
