/* reference-spawn: what creating and reaping a thread, or a process, costs on this host.
 *
 *   reference-spawn thread|fork COUNT ROUNDS
 *
 * Each round times COUNT creations with CLOCK_MONOTONIC and prints one line: the mean
 * nanoseconds per creation. `thread` is pthread_create (default attributes, a function that
 * returns at once) + pthread_join; `fork` is fork + _exit(0) in the child + waitpid. This
 * program is small, so fork copies few page tables: a large parent pays more.
 */
#include <errno.h>
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

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "thread") != 0 && strcmp(argv[1], "fork") != 0)) {
        fputs("usage: reference-spawn thread|fork COUNT ROUNDS\n", stderr);
        return 2;
    }
    int (*create)(void) = strcmp(argv[1], "thread") == 0 ? one_thread : one_process;
    long count = strtol(argv[2], NULL, 10), rounds = strtol(argv[3], NULL, 10);
    if (count < 1 || rounds < 1) {
        fputs("reference-spawn: COUNT and ROUNDS must be at least 1\n", stderr);
        return 2;
    }
    for (long r = 0; r < rounds; r++) {
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
