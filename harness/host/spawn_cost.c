/* reference-spawn: what creating and reaping a thread, or a process, and handing a token to a
 * thread on another CPU cost on this host.
 *
 *   reference-spawn thread|fork COUNT ROUNDS
 *   reference-spawn handoff COUNT ROUNDS CPU_A CPU_B
 *
 * Each round times COUNT operations with CLOCK_MONOTONIC and prints one line: the mean
 * nanoseconds per operation. `thread` is pthread_create (default attributes, a function that
 * returns at once) + pthread_join; `fork` is fork + _exit(0) in the child + waitpid. This
 * program is small, so fork copies few page tables: a large parent pays more. `handoff` pins
 * the main thread to CPU_A and a second thread to CPU_B, which pass one byte back and forth over
 * two pipes COUNT times (as `perf bench sched pipe -T` does on one CPU): one operation is one
 * hand-off, half a round trip, the write and read around it included.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *nothing(void *arg)
{
    return arg;
}

static int one_thread(void)
{
    pthread_t t;
    int err = pthread_create(&t, NULL, nothing, NULL);
    if (err == 0)
        err = pthread_join(t, NULL);
    return err;
}

static int one_process(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return errno;
    if (pid == 0)
        _exit(0);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return errno;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : ECHILD;
}

static int handoff_pipes[2][2]; /* [0]: main -> peer, [1]: peer -> main */
static long handoff_count;

static int pin(long cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (cpu < 0 || cpu >= CPU_SETSIZE)
        return EINVAL;
    CPU_SET((int)cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *peer(void *cpu)
{
    long err = pin(*(long *)cpu);
    char byte = 0;
    for (long i = 0; err == 0 && i < handoff_count; i++)
        if (read(handoff_pipes[0][0], &byte, 1) != 1 || write(handoff_pipes[1][1], &byte, 1) != 1)
            err = errno ? errno : EPIPE;
    close(handoff_pipes[1][1]); /* the main thread's read ends, whatever happened here */
    return (void *)err;
}

/* COUNT round trips between CPU a (this thread) and CPU b (a new one); 0 or an errno value. */
static int handoff_round(long count, long a, long b, uint64_t *ns)
{
    int err = pin(a);
    if (err != 0)
        return err;
    if (pipe(handoff_pipes[0]) != 0 || pipe(handoff_pipes[1]) != 0)
        return errno;
    handoff_count = count;
    pthread_t t;
    if ((err = pthread_create(&t, NULL, peer, &b)) != 0)
        return err;
    char byte = 0;
    uint64_t start = now_ns();
    for (long i = 0; err == 0 && i < count; i++)
        if (write(handoff_pipes[0][1], &byte, 1) != 1 || read(handoff_pipes[1][0], &byte, 1) != 1)
            err = errno ? errno : EPIPE;
    *ns = now_ns() - start;
    close(handoff_pipes[0][1]); /* the peer's read ends, if it still waits */
    void *peer_err = NULL;
    pthread_join(t, &peer_err);
    close(handoff_pipes[0][0]);
    close(handoff_pipes[1][0]);
    return peer_err != NULL ? (int)(long)peer_err : err;
}

int main(int argc, char **argv)
{
    int handoff = argc == 6 && strcmp(argv[1], "handoff") == 0;
    if (!handoff && (argc != 4 || (strcmp(argv[1], "thread") != 0 && strcmp(argv[1], "fork") != 0))) {
        fputs("usage: reference-spawn thread|fork COUNT ROUNDS | handoff COUNT ROUNDS CPU_A CPU_B\n", stderr);
        return 2;
    }
    int (*create)(void) = strcmp(argv[1], "thread") == 0 ? one_thread : one_process;
    long count = strtol(argv[2], NULL, 10), rounds = strtol(argv[3], NULL, 10);
    if (count < 1 || rounds < 1) {
        fputs("reference-spawn: COUNT and ROUNDS must be at least 1\n", stderr);
        return 2;
    }
    for (long r = 0; r < rounds; r++) {
        if (handoff) {
            uint64_t ns = 0;
            int err = handoff_round(count, strtol(argv[4], NULL, 10), strtol(argv[5], NULL, 10), &ns);
            if (err != 0) {
                fprintf(stderr, "reference-spawn: handoff between CPU %s and CPU %s: %s\n", argv[4], argv[5],
                        strerror(err));
                return 1;
            }
            printf("%.1f\n", (double)ns / (2.0 * (double)count));
            fflush(stdout);
            continue;
        }
        uint64_t start = now_ns();
        for (long i = 0; i < count; i++) {
            int err = create();
            if (err != 0) {
                fprintf(stderr, "reference-spawn: %s: %s\n", argv[1], strerror(err));
                return 1;
            }
        }
        printf("%.1f\n", (double)(now_ns() - start) / (double)count);
        fflush(stdout);
    }
    return 0;
}
