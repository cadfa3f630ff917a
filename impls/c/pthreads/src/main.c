#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common.h"
#include "http.h"
#include "workloads.h"

#define MAX_FLAGS 8

struct workload {
    const char *name;
    const char *flags[MAX_FLAGS]; /* the workload's own flags, without "--" */
    workload_fn *run;
};

static const struct workload WORKLOADS[] = {
    {"worker_pool", {"tasks", "queue", "workers", "rounds"}, run_worker_pool},
    {"pipeline", {"items", "stages", "capacity"}, run_pipeline},
    {"mutex_counter", {"threads", "increments", "mode"}, run_mutex_counter},
    {"ping_pong", {"roundtrips"}, run_ping_pong},
    {"spawn_idle", {"tasks", "sleep-ms"}, run_spawn_idle},
    {"preemption", {"sleeps", "sleep-us", "spinners", "spin-limit-ms"}, run_preemption},
    {"http_server", {"port", "server"}, NULL},
};

/* Every integer flag: where it is stored and its accepted range. */
struct options {
    struct params p;
    uint64_t warmups, iterations, cpus, port;
    enum server_kind server;
    bool spread; /* --placement spread */
};

struct int_flag {
    const char *name;
    size_t offset;
    uint64_t min, max;
};

#define P(field) offsetof(struct options, p.field)
static const struct int_flag INT_FLAGS[] = {
    {"tasks", P(tasks), 0, 1000000000},
    {"queue", P(queue), 1, 1 << 24},
    {"workers", P(workers), 0, 65536},
    {"rounds", P(rounds), 0, UINT32_MAX},
    {"items", P(items), 0, UINT64_C(1) << 40},
    {"stages", P(stages), 0, 65536},
    {"capacity", P(capacity), 1, 1 << 24},
    {"threads", P(threads), 0, 65536},
    {"increments", P(increments), 0, UINT64_C(1) << 40},
    {"roundtrips", P(roundtrips), 0, UINT64_C(1) << 40},
    {"sleep-ms", P(sleep_ms), 0, 3600000},
    {"sleeps", P(sleeps), 1, 1000000},
    {"sleep-us", P(sleep_us), 0, 3600000000},
    {"spinners", P(spinners), 0, 4096},
    {"spin-limit-ms", P(spin_limit_ms), 0, 3600000},
    {"warmups", offsetof(struct options, warmups), 0, 1000000},
    {"iterations", offsetof(struct options, iterations), 0, 1000000},
    {"cpus", offsetof(struct options, cpus), 1, 65536},
    {"port", offsetof(struct options, port), 0, 65535},
};
#undef P

static const char USAGE[] =
    "usage: cmbench-c <workload> --<param> <value> ... [--warmups W] [--iterations N] [--cpus P]\n"
    "                 [--placement runtime|spread]\n"
    "       cmbench-c http_server --port P [--cpus C] [--server threads|epoll]\n"
    "workloads: worker_pool pipeline mutex_counter ping_pong spawn_idle preemption http_server\n";

_Noreturn __attribute__((format(printf, 1, 2))) static void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cmbench-c: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(USAGE, stderr);
    exit(2);
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (*s == '\0')
        return false;
    uint64_t v = 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

static const struct workload *find_workload(const char *name)
{
    for (size_t i = 0; i < sizeof WORKLOADS / sizeof WORKLOADS[0]; i++)
        if (strcmp(WORKLOADS[i].name, name) == 0)
            return &WORKLOADS[i];
    return NULL;
}

/* The index of flag in the workload's own list, or -1. */
static int own_flag(const struct workload *w, const char *flag)
{
    for (int i = 0; i < MAX_FLAGS && w->flags[i] != NULL; i++)
        if (strcmp(w->flags[i], flag) == 0)
            return i;
    return -1;
}

static void set_value(struct options *o, const char *flag, const char *value)
{
    if (strcmp(flag, "mode") == 0) {
        if (strcmp(value, "mutex") == 0)
            o->p.mode = MODE_MUTEX;
        else if (strcmp(value, "atomic") == 0)
            o->p.mode = MODE_ATOMIC;
        else if (strcmp(value, "racy") == 0)
            o->p.mode = MODE_RACY;
        else
            usage_error("--mode must be mutex, atomic or racy, not '%s'", value);
        return;
    }
    if (strcmp(flag, "placement") == 0) {
        if (strcmp(value, "runtime") == 0)
            o->spread = false;
        else if (strcmp(value, "spread") == 0)
            o->spread = true;
        else
            usage_error("--placement must be runtime or spread, not '%s'", value);
        return;
    }
    if (strcmp(flag, "server") == 0) {
        if (strcmp(value, "threads") == 0)
            o->server = SERVER_THREADS;
        else if (strcmp(value, "epoll") == 0)
            o->server = SERVER_EPOLL;
        else
            usage_error("--server must be threads or epoll, not '%s'", value);
        return;
    }
    for (size_t i = 0; i < sizeof INT_FLAGS / sizeof INT_FLAGS[0]; i++) {
        const struct int_flag *f = &INT_FLAGS[i];
        if (strcmp(f->name, flag) != 0)
            continue;
        uint64_t v;
        if (!parse_u64(value, &v) || v < f->min || v > f->max)
            usage_error("--%s: expected an integer in [%" PRIu64 ", %" PRIu64 "], got '%s'", flag, f->min,
                        f->max, value);
        memcpy((char *)o + f->offset, &v, sizeof v);
        return;
    }
    usage_error("internal: no parser for --%s", flag);
}

static void parse_args(int argc, char **argv, const struct workload *w, struct options *o)
{
    bool http = w->run == NULL;
    unsigned seen = 0; /* bit i: own flag i; bits 8..11: warmups, iterations, cpus, placement */
    static const char *const COMMON[] = {"warmups", "iterations", "cpus", "placement"};

    for (int i = 2; i < argc; i += 2) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0)
            usage_error("unexpected argument '%s'", arg);
        const char *flag = arg + 2;
        int bit = own_flag(w, flag);
        for (int c = 0; bit < 0 && c < 4; c++)
            if (strcmp(flag, COMMON[c]) == 0 && (!http || c == 2))
                bit = MAX_FLAGS + c;
        if (bit < 0)
            usage_error("unknown flag '%s' for %s", arg, w->name);
        if (seen & (1u << bit))
            usage_error("flag '%s' given twice", arg);
        if (i + 1 >= argc)
            usage_error("flag '%s' needs a value", arg);
        seen |= 1u << bit;
        set_value(o, flag, argv[i + 1]);
    }
    for (int i = 0; i < MAX_FLAGS && w->flags[i] != NULL; i++) {
        bool optional = http && strcmp(w->flags[i], "server") == 0;
        if (!(seen & (1u << i)) && !optional)
            usage_error("%s needs --%s", w->name, w->flags[i]);
    }
}

static void run_batch(const struct workload *w, const struct options *o)
{
    char fields[256];
    uint64_t total = o->warmups + o->iterations;
    for (uint64_t i = 0; i < total; i++) {
        uint64_t elapsed = w->run(&o->p, fields, sizeof fields);
        if (elapsed == 0)
            elapsed = 1;
        printf("{\"workload\": \"%s\", \"iteration\": %" PRIu64 ", \"warmup\": %s, \"elapsed_ns\": %" PRIu64 "%s}\n",
               w->name, i, i < o->warmups ? "true" : "false", elapsed, fields);
        fflush(stdout);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage_error("missing workload");
    const struct workload *w = find_workload(argv[1]);
    if (w == NULL)
        usage_error("unknown workload '%s'", argv[1]);
    struct options o = {.iterations = 1, .cpus = 1, .server = SERVER_THREADS};
    parse_args(argc, argv, w, &o);

    if (w->run == NULL)
        return http_main((uint16_t)o.port, (unsigned)o.cpus, o.server);
    raise_limit(RLIMIT_NPROC, "RLIMIT_NPROC");
    static struct placement placement;
    placement_init(&placement, o.spread);
    o.p.placement = &placement;
    run_batch(w, &o);
    return 0;
}
