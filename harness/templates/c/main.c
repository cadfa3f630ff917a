/* cmbench implementation %%{id} (made by `cmbench new --template c`).
 *
 *   ./build/main <workload> --<param> V ... --warmups W --iterations N --cpus P
 *
 * One JSON line per iteration on stdout; errors on stderr with exit status 2. The contract is
 * workloads/README.md; each workload's own README is its spec:
 *
%%{spec_comments}
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *message, const char *arg) {
    fprintf(stderr, "main: %s%s\n", message, arg ? arg : "");
    exit(2);
}

/* A one-slot channel: a mutex, a condition variable and a full flag. */
struct slot {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool full;
    uint64_t value;
};

static void slot_put(struct slot *s, uint64_t v) {
    pthread_mutex_lock(&s->mu);
    while (s->full) pthread_cond_wait(&s->cv, &s->mu);
    s->value = v;
    s->full = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static uint64_t slot_take(struct slot *s) {
    pthread_mutex_lock(&s->mu);
    while (!s->full) pthread_cond_wait(&s->cv, &s->mu);
    uint64_t v = s->value;
    s->full = false;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return v;
}

struct pingpong {
    struct slot ping, pong;
    uint64_t roundtrips;
};

static void *side_b(void *arg) {
    struct pingpong *p = arg;
    for (uint64_t r = 0; r < p->roundtrips; r++) slot_put(&p->pong, slot_take(&p->ping) + 1);
    return NULL;
}

/* ping_pong: the main thread is A, one pthread is B. */
static void ping_pong(const uint64_t *params, uint64_t *elapsed, char *fields, size_t size) {
    struct pingpong p = {.ping = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0},
                         .pong = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0},
                         .roundtrips = params[0]};
    uint64_t began = now_ns();
    pthread_t b;
    if (pthread_create(&b, NULL, side_b, &p) != 0) die("pthread_create failed", NULL);
    uint64_t token = 0;
    for (uint64_t r = 0; r < p.roundtrips; r++) {
        slot_put(&p.ping, token);
        token = slot_take(&p.pong) + 1;
    }
    pthread_join(b, NULL);
    *elapsed = now_ns() - began;
    snprintf(fields, size, "\"roundtrips\": %" PRIu64 ", \"token\": %" PRIu64, p.roundtrips, token);
}

/* workload -> function and its parameters. Add the others here, following their specs (above). */
struct workload {
    const char *name;
    void (*run)(const uint64_t *params, uint64_t *elapsed, char *fields, size_t size);
    const char *params[4];
};

static const struct workload WORKLOADS[] = {
    {"ping_pong", ping_pong, {"--roundtrips", NULL}},
};

static uint64_t number(const char *flag, const char *text) {
    if (text == NULL || *text == '\0' || strspn(text, "0123456789") != strlen(text)) die("not a decimal integer: ", flag);
    return strtoull(text, NULL, 10);
}

int main(int argc, char **argv) {
    if (argc < 2) die("usage: main <workload> --<param> V ... --warmups W --iterations N --cpus P", NULL);
    const struct workload *w = NULL;
    for (size_t i = 0; i < sizeof WORKLOADS / sizeof WORKLOADS[0]; i++)
        if (strcmp(argv[1], WORKLOADS[i].name) == 0) w = &WORKLOADS[i];
    if (w == NULL) die("unknown workload: ", argv[1]);
    uint64_t params[4] = {0}, warmups = 0, iterations = 1;
    bool seen[4] = {false};
    for (int a = 2; a < argc; a += 2) {
        const char *flag = argv[a], *value = a + 1 < argc ? argv[a + 1] : NULL;
        bool known = false;
        for (int p = 0; p < 4 && w->params[p]; p++)
            if (strcmp(flag, w->params[p]) == 0) params[p] = number(flag, value), seen[p] = known = true;
        if (strcmp(flag, "--warmups") == 0) warmups = number(flag, value), known = true;
        if (strcmp(flag, "--iterations") == 0) iterations = number(flag, value), known = true;
        if (strcmp(flag, "--cpus") == 0) number(flag, value), known = true;
        if (!known) die("unknown flag: ", flag);
    }
    for (int p = 0; p < 4 && w->params[p]; p++)
        if (!seen[p]) die("missing flag: ", w->params[p]);
    char fields[256];
    for (uint64_t i = 0; i < warmups + iterations; i++) {
        uint64_t elapsed = 0;
        w->run(params, &elapsed, fields, sizeof fields);
        printf("{\"workload\": \"%s\", \"iteration\": %" PRIu64 ", \"warmup\": %s, \"elapsed_ns\": %" PRIu64 ", %s}\n",
               w->name, i, i < warmups ? "true" : "false", elapsed ? elapsed : 1, fields);
        fflush(stdout);
    }
    return 0;
}
