/*
 * rusage-exec OUTFILE PROGRAM [ARGS...]
 *
 * Runs PROGRAM as a child, forwards SIGTERM/SIGINT/SIGHUP to it, reaps it with wait4 and
 * writes its resource usage to OUTFILE as one JSON object. Then exits as the child did
 * (same status, or the same signal).
 *
 * Why it exists: Linux keeps a process's peak RSS across exec, so a child forked from a
 * large process (the Python harness) reports at least the parent's RSS in ru_maxrss. This
 * wrapper is small, so PROGRAM's ru_maxrss is its own. It is also how rusage is taken
 * inside a container, where the harness cannot wait4 the implementation itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t child_pid = 0;

static void forward(int sig)
{
    if (child_pid > 0)
        kill(child_pid, sig);
}

static double seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: rusage-exec OUTFILE PROGRAM [ARGS...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("rusage-exec: fork");
        return 127;
    }
    if (pid == 0) {
        execvp(argv[2], &argv[2]);
        fprintf(stderr, "rusage-exec: cannot run %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    child_pid = pid;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    int status = 0;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("rusage-exec: wait4");
            return 127;
        }
    }
    FILE *out = fopen(argv[1], "w");
    if (out) {
        fprintf(out,
                "{\"status\": %d, \"user\": %.6f, \"system\": %.6f, \"maxrss_kib\": %ld, "
                "\"voluntary\": %ld, \"involuntary\": %ld}\n",
                status, seconds(ru.ru_utime), seconds(ru.ru_stime), ru.ru_maxrss, ru.ru_nvcsw,
                ru.ru_nivcsw);
        fclose(out);
    } else {
        fprintf(stderr, "rusage-exec: cannot write %s: %s\n", argv[1], strerror(errno));
    }
    if (WIFSIGNALED(status)) {
        signal(WTERMSIG(status), SIG_DFL);
        raise(WTERMSIG(status));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 127;
}
