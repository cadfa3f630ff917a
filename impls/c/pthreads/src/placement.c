#include "placement.h"

#include <errno.h>

#include "common.h"

static void cpu_of(const struct placement *pl, size_t slot, cpu_set_t *set)
{
    CPU_ZERO(set);
    CPU_SET(pl->cpus[slot % (size_t)pl->ncpus], set);
}

void placement_init(struct placement *pl, bool spread)
{
    pl->ncpus = 0;
    if (!spread)
        return;
    cpu_set_t allowed;
    int err = pthread_getaffinity_np(pthread_self(), sizeof allowed, &allowed);
    if (err != 0)
        fatal("--placement spread: pthread_getaffinity_np", err);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &allowed))
            pl->cpus[pl->ncpus++] = cpu;
    if (pl->ncpus == 0)
        fatal("--placement spread: sched affinity mask", EINVAL);
}

void placement_pin_self(const struct placement *pl, size_t slot)
{
    if (pl->ncpus == 0)
        return;
    cpu_set_t set;
    cpu_of(pl, slot, &set);
    int err = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    if (err != 0)
        fatal("--placement spread: pthread_setaffinity_np", err);
}

void placement_set_attr(const struct placement *pl, size_t slot, pthread_attr_t *attr)
{
    if (pl->ncpus == 0)
        return;
    cpu_set_t set;
    cpu_of(pl, slot, &set);
    int err = pthread_attr_setaffinity_np(attr, sizeof set, &set);
    if (err != 0)
        fatal("--placement spread: pthread_attr_setaffinity_np", err);
}

pthread_t spawn_placed(const struct placement *pl, size_t slot, void *(*fn)(void *), void *arg)
{
    if (pl->ncpus == 0)
        return spawn_thread(NULL, fn, arg);
    pthread_attr_t attr;
    int err = pthread_attr_init(&attr);
    if (err != 0)
        fatal("pthread_attr_init", err);
    placement_set_attr(pl, slot, &attr);
    pthread_t thread = spawn_thread(&attr, fn, arg);
    pthread_attr_destroy(&attr);
    return thread;
}
