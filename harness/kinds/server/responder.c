/*
 * cmbench-responder --port P --threads N
 *
 * The fastest plaintext server the harness can field: epoll, edge-triggered, one loop per
 * thread on a shared listening socket, no request parsing beyond counting blank lines, one
 * fixed response per request. It exists to measure the load generator's own ceiling on its
 * CPUs (`cmbench loadgen-headroom`): when this server is not CPU-bound and the generator is,
 * the generator's rate is the most it can ask of any server.
 *
 * Prints {"ready": true, "port": P} once listening; exits 0 on SIGTERM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char RESPONSE[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "Server: cmbench-responder\r\n"
    "Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n"
    "\r\n"
    "Hello, World!";
#define RESPONSE_LEN (sizeof(RESPONSE) - 1)
#define MAX_BATCH 64 /* responses written in one send */

struct conn {
    int fd;
    int matched; /* bytes of "\r\n\r\n" seen at the end of the last read */
};

static int listener;

static void fail(const char *what) {
    perror(what);
    exit(1);
}

static void serve(struct conn *c) {
    static const char end[] = "\r\n\r\n";
    static __thread char out[RESPONSE_LEN * MAX_BATCH];
    char in[16384];
    for (;;) {
        ssize_t n = read(c->fd, in, sizeof in);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            close(c->fd);
            free(c);
            return;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        int requests = 0;
        for (ssize_t i = 0; i < n; i++) {
            if (in[i] == end[c->matched]) {
                if (++c->matched == 4) {
                    requests++;
                    c->matched = 0;
                }
            } else {
                c->matched = in[i] == '\r' ? 1 : 0;
            }
        }
        while (requests > 0) {
            int k = requests < MAX_BATCH ? requests : MAX_BATCH;
            for (int j = 0; j < k; j++) memcpy(out + j * RESPONSE_LEN, RESPONSE, RESPONSE_LEN);
            size_t left = (size_t)k * RESPONSE_LEN;
            const char *p = out;
            while (left > 0) { /* blocking is acceptable: clients read what they asked for */
                ssize_t w = send(c->fd, p, left, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR) continue;
                if (w < 0 && errno == EAGAIN) continue;
                if (w < 0) {
                    close(c->fd);
                    free(c);
                    return;
                }
                p += w;
                left -= (size_t)w;
            }
            requests -= k;
        }
    }
}

static void *loop(void *arg) {
    (void)arg;
    int ep = epoll_create1(0);
    if (ep < 0) fail("epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev) < 0) fail("epoll_ctl listener");
    struct epoll_event events[256];
    for (;;) {
        int n = epoll_wait(ep, events, 256, -1);
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr == NULL) {
                int fd;
                while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *c = calloc(1, sizeof *c);
                    if (!c) fail("calloc");
                    c->fd = fd;
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLET | EPOLLRDHUP, .data.ptr = c};
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev) < 0) fail("epoll_ctl conn");
                }
            } else {
                serve(events[i].data.ptr);
            }
        }
    }
    return NULL;
}

static void on_term(int sig) {
    (void)sig;
    _exit(0);
}

int main(int argc, char **argv) {
    int port = -1, threads = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
    }
    if (port < 0 || port > 65535 || threads < 1) {
        fprintf(stderr, "usage: %s --port P --threads N\n", argv[0]);
        return 2;
    }
    signal(SIGTERM, on_term);
    signal(SIGPIPE, SIG_IGN);
    listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (listener < 0) fail("socket");
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) fail("bind");
    if (listen(listener, 4096) < 0) fail("listen");
    printf("{\"ready\": true, \"port\": %d}\n", port);
    fflush(stdout);
    pthread_t t;
    for (int i = 1; i < threads; i++)
        if (pthread_create(&t, NULL, loop, NULL) != 0) fail("pthread_create");
    loop(NULL);
    return 0;
}
