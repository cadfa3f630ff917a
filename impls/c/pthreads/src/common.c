#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

void fatal(const char *what, int err)
{
    fprintf(stderr, "cmbench-c: %s: %s\n", what, strerror(err));
    exit(1);
}

void small_stack_attr(pthread_attr_t *attr, int detach_state)
{
    int err = pthread_attr_init(attr);
    if (err == 0)
        err = pthread_attr_setstacksize(attr, SMALL_STACK_BYTES);
    if (err == 0)
        err = pthread_attr_setdetachstate(attr, detach_state);
    if (err != 0)
        fatal("pthread_attr (64 KiB stack)", err);
}

pthread_t spawn_thread(const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    pthread_t thread;
    int err = pthread_create(&thread, attr, fn, arg);
    if (err != 0)
        fatal("pthread_create", err);
    return thread;
}

void join_thread(pthread_t thread)
{
    int err = pthread_join(thread, NULL);
    if (err != 0)
        fatal("pthread_join", err);
}

static void *report_own_stack(void *arg)
{
    size_t *size = arg;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return NULL;
    if (pthread_attr_getstacksize(&attr, size) != 0)
        *size = 0;
    pthread_attr_destroy(&attr);
    return NULL;
}

uint64_t default_stack_bytes(void)
{
    size_t size = 0;
    join_thread(spawn_thread(NULL, report_own_stack, &size));
    return size;
}

void sleep_ns(uint64_t ns)
{
    struct timespec left = {.tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)};
    while (nanosleep(&left, &left) == -1 && errno == EINTR) {
    }
}

void raise_limit(int resource, const char *name)
{
    struct rlimit lim;
    if (getrlimit(resource, &lim) != 0 || lim.rlim_cur == lim.rlim_max)
        return;
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(resource, &lim) != 0)
        fprintf(stderr, "cmbench-c: warning: cannot raise %s: %s\n", name, strerror(errno));
}
