/*
 * rusage-exec REPORT PROGRAM [ARGS...]
 *
 * Runs PROGRAM as a child, forwards SIGTERM/SIGINT/SIGHUP to it, reaps it with wait4 and
 * writes its exit status and resource usage to REPORT as one JSON object ("-": no report).
 * Then exits as the child did (same status, or the same signal).
 *
 * Why it exists: Linux keeps a process's peak RSS across exec, so a child forked from a
 * large process (the Python harness) reports at least the parent's RSS in ru_maxrss. This
 * wrapper is small, so PROGRAM's ru_maxrss is its own. It is also how rusage is taken
 * inside a container, where the harness cannot wait4 the implementation itself.
 *
 * It also owns everything PROGRAM starts, so that nothing outlives a case:
 * - it is a child subreaper (PR_SET_CHILD_SUBREAPER): a descendant that double-forks or calls
 *   setsid() is re-parented to the wrapper, not to init;
 * - once PROGRAM has exited, every descendant still there is killed (SIGKILL) and reaped, and
 *   the report counts them ("leftovers");
 * - SIGUSR1 means "stop now": PROGRAM is killed, then everything else as above;
 * - the wrapper gets SIGUSR2 when its parent (the harness) dies, even by SIGKILL
 *   (PR_SET_PDEATHSIG), and then stops as on SIGUSR1; PROGRAM itself dies with the wrapper.
 * A cgroup per process would do the same, but needs a writable cgroup hierarchy (root, or a
 * delegated one); this works unprivileged, natively and inside containers.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t child_pid = 0;

static void forward(int sig)
{
    if (child_pid > 0)
        kill(child_pid, sig);
}

static void stop_now(int sig)
{
    (void)sig;
    if (child_pid > 0)
        kill(child_pid, SIGKILL);
}

static double seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

struct proc {
    pid_t pid, ppid;
    char state;
};

/* Every process in /proc: pid, parent and state (the field after the parenthesised name). */
static size_t scan(struct proc **out)
{
    size_t n = 0, cap = 256;
    struct proc *list = malloc(cap * sizeof *list);
    DIR *d = opendir("/proc");
    if (!list || !d) {
        free(list);
        if (d)
            closedir(d);
        *out = NULL;
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        char *close = strrchr(buf, ')');
        char state;
        int ppid;
        if (!close || sscanf(close + 1, " %c %d", &state, &ppid) != 2)
            continue;
        if (n == cap) {
            struct proc *bigger = realloc(list, 2 * cap * sizeof *list);
            if (!bigger)
                break;
            list = bigger;
            cap *= 2;
        }
        list[n].pid = (pid_t)atoi(e->d_name);
        list[n].ppid = (pid_t)ppid;
        list[n].state = state;
        n++;
    }
    closedir(d);
    *out = list;
    return n;
}

/* SIGKILL every descendant of this process; returns how many were alive (not zombies). */
static int kill_descendants(void)
{
    struct proc *list;
    size_t n = scan(&list);
    char *mine = calloc(n ? n : 1, 1);
    if (!mine) {
        free(list);
        return 0;
    }
    pid_t self = getpid();
    int alive = 0;
    for (int changed = 1; changed;) { /* mark descendants until no new one is found */
        changed = 0;
        for (size_t i = 0; i < n; i++) {
            if (mine[i])
                continue;
            int parent_mine = list[i].ppid == self;
            for (size_t j = 0; !parent_mine && j < n; j++)
                parent_mine = mine[j] && list[j].pid == list[i].ppid;
            if (parent_mine) {
                mine[i] = 1;
                changed = 1;
                if (list[i].state != 'Z' && list[i].state != 'X')
                    alive++;
                kill(list[i].pid, SIGKILL);
            }
        }
    }
    free(mine);
    free(list);
    return alive;
}

/* Kill and reap every process left under the wrapper; returns how many were still running. */
static int sweep(void)
{
    int leftovers = -1;
    for (;;) {
        pid_t r;
        while ((r = waitpid(-1, NULL, WNOHANG)) > 0)
            ;
        if (r < 0 && errno == ECHILD)
            break; /* no child left, so no descendant either */
        int alive = kill_descendants();
        if (leftovers < 0)
            leftovers = alive;
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    return leftovers < 0 ? 0 : leftovers;
}

/*
 * execvp without its fallback of running a file the kernel refuses (ENOEXEC) with /bin/sh: a
 * file that is not a program is an error here, as it is for the harness's own exec. Returns
 * errno, and in `found` the file that exists but could not be run, if any.
 */
static int exec_program(char **args, char *found, size_t size)
{
    const char *program = args[0];
    found[0] = '\0';
    if (strchr(program, '/')) {
        execv(program, args);
        if (access(program, F_OK) == 0)
            snprintf(found, size, "%s", program);
        return errno;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    int err = ENOENT;
    while (*path) {
        size_t len = strcspn(path, ":");
        char full[4096];
        snprintf(full, sizeof full, "%.*s/%s", len ? (int)len : 1, len ? path : ".", program);
        execv(full, args);
        int e = errno;
        if (access(full, F_OK) == 0)
            snprintf(found, size, "%s", full);
        if (e != ENOENT && e != ENOTDIR && e != EACCES) /* as execvp: only these go on searching */
            return e;
        if (e == EACCES || (e == ENOENT && found[0]))
            err = e;
        path += len + (path[len] == ':');
    }
    return err;
}

/* Why PROGRAM could not be executed, with the likely fix. */
static void explain_exec_failure(const char *program, const char *found, int err)
{
    fprintf(stderr, "rusage-exec: cannot run %s: %s", program, strerror(err));
    if (err == ENOENT && found[0]) {
        char line[256] = "";
        FILE *f = fopen(found, "r");
        if (f) {
            if (!fgets(line, sizeof line, f))
                line[0] = '\0';
            fclose(f);
        }
        size_t len = strcspn(line, "\n");
        line[len] = '\0';
        if (line[0] == '#' && line[1] == '!') {
            if (len && line[len - 1] == '\r') {
                line[len - 1] = '\0';
                fprintf(stderr, " (its #! line '%s' ends with a carriage return: convert the file to LF "
                                "line endings)", line);
            } else {
                fprintf(stderr, " (its interpreter, from the #! line '%s', is missing)", line);
            }
        }
    } else if (err == EACCES) {
        fprintf(stderr, " (not executable: chmod +x, or a folder)");
    } else if (err == ENOEXEC) {
        fprintf(stderr, " (not a program the kernel can run: a script needs a #! line)");
    }
    fputc('\n', stderr);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: rusage-exec REPORT PROGRAM [ARGS...]\n");
        return 2;
    }
    pid_t parent = getppid();
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    prctl(PR_SET_PDEATHSIG, SIGUSR2);
    if (getppid() != parent) /* the parent died before it could tell us */
        return 125;

    sigset_t handled, before;
    sigemptyset(&handled);
    int forwarded[] = {SIGTERM, SIGINT, SIGHUP};
    int stopping[] = {SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < 3; i++)
        sigaddset(&handled, forwarded[i]);
    for (size_t i = 0; i < 2; i++)
        sigaddset(&handled, stopping[i]);
    sigprocmask(SIG_BLOCK, &handled, &before);

    pid_t self = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        perror("rusage-exec: fork");
        return 127;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != self)
            _exit(127);
        sigprocmask(SIG_SETMASK, &before, NULL);
        char found[4096];
        int err = exec_program(&argv[2], found, sizeof found);
        explain_exec_failure(argv[2], found, err);
        _exit(127);
    }
    child_pid = pid;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigfillset(&sa.sa_mask);
    sa.sa_handler = forward; /* no SA_RESTART: wait4 returns EINTR, and the loop waits again */
    for (size_t i = 0; i < 3; i++)
        sigaction(forwarded[i], &sa, NULL);
    sa.sa_handler = stop_now;
    for (size_t i = 0; i < 2; i++)
        sigaction(stopping[i], &sa, NULL);
    sigprocmask(SIG_SETMASK, &before, NULL);
    if (getppid() != parent) /* the harness died while PROGRAM was being started */
        kill(pid, SIGKILL);

    int status = 0;
    struct rusage ru;
    for (;;) { /* PROGRAM's status; orphans re-parented here meanwhile are reaped as they exit */
        int st;
        struct rusage r;
        pid_t got = wait4(-1, &st, 0, &r);
        if (got == pid) {
            status = st;
            ru = r;
            break;
        }
        if (got < 0 && errno != EINTR) {
            perror("rusage-exec: wait4");
            return 127;
        }
    }
    child_pid = 0;
    int leftovers = sweep();
    if (strcmp(argv[1], "-") != 0) {
        FILE *out = fopen(argv[1], "w");
        if (out) {
            fprintf(out,
                    "{\"status\": %d, \"user\": %.6f, \"system\": %.6f, \"maxrss_kib\": %ld, "
                    "\"voluntary\": %ld, \"involuntary\": %ld, \"leftovers\": %d}\n",
                    status, seconds(ru.ru_utime), seconds(ru.ru_stime), ru.ru_maxrss, ru.ru_nvcsw,
                    ru.ru_nivcsw, leftovers);
            fclose(out);
        } else {
            fprintf(stderr, "rusage-exec: cannot write %s: %s\n", argv[1], strerror(errno));
        }
    }
    if (leftovers > 0)
        fprintf(stderr, "rusage-exec: %d process(es) that %s started were still running after it exited; "
                        "killed\n", leftovers, argv[2]);
    if (WIFSIGNALED(status)) {
        signal(WTERMSIG(status), SIG_DFL);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, WTERMSIG(status));
        sigprocmask(SIG_UNBLOCK, &one, NULL);
        raise(WTERMSIG(status));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 127;
}
