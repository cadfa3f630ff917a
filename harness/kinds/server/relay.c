/*
 * cmbench-relay --listen ADDRESS --port P --to PORT --threads N [--allow PEER]
 *
 * Makes a server that listens on 127.0.0.1:PORT (the implementation contract) reachable from a
 * load generator on another host: every connection accepted on ADDRESS:P (P = 0: any free
 * port) is joined to a new connection to 127.0.0.1:PORT, and bytes are copied both ways as
 * they come, unchanged (pipelined batches stay one write where the kernel keeps them so).
 * Half-closes are passed on (shutdown(SHUT_WR) once one side has said all it will), so a
 * server's `Connection: close` reaches the client. Each thread runs one epoll loop on a shared
 * listening socket; a connection stays on the thread that accepted it. Data a side cannot take
 * at once is kept and the other side is not read until it is written (back-pressure), so memory
 * is a few pointers per idle connection.
 *
 * With --allow, a connection from any other IPv4 address than PEER (the load generator host's
 * cluster address) is closed as soon as it is accepted, so the relay serves the fleet's own
 * generator only. Prints {"ready": true, "port": P} once listening (P: the port bound); exits 0
 * on SIGTERM.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
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

#define BUFFER (64 * 1024)

struct pair;

struct side {
    int fd;
    struct pair *pair;
    struct side *peer;
    char *pending; /* bytes read from the peer that this side has not taken yet */
    size_t pending_len, pending_off;
    int eof;     /* this side said all it will (read returned 0) */
    int shut;    /* writing to this side was shut down */
    unsigned events; /* what epoll watches now */
};

struct pair {
    struct side client, server;
    int connecting; /* the connection to the server is not established yet */
};

static int listener;
static int target_port;

static void fail(const char *what) {
    perror(what);
    exit(1);
}

static void watch(int ep, struct side *s, unsigned events) {
    if (s->events == events) return;
    struct epoll_event ev = {.events = events, .data.ptr = s};
    int op = s->events == 0xffffffffu ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (epoll_ctl(ep, op, s->fd, &ev) < 0 && errno != ENOENT) fail("epoll_ctl");
    s->events = events;
}

/* What each side waits for: readable unless its peer still holds its bytes (back-pressure) or it
 * said all it will; writable while it has bytes to take (or while the server side is connecting). */
static void rearm(int ep, struct pair *p) {
    struct side *sides[2] = {&p->client, &p->server};
    for (int i = 0; i < 2; i++) {
        struct side *s = sides[i];
        unsigned events = EPOLLRDHUP;
        if (p->connecting) {
            if (s == &p->server) events |= EPOLLOUT;
        } else {
            if (!s->eof && s->peer->pending == NULL) events |= EPOLLIN;
            if (s->pending != NULL) events |= EPOLLOUT;
        }
        watch(ep, s, events);
    }
}

static void close_pair(struct pair *p) {
    close(p->client.fd); /* closing removes them from epoll */
    close(p->server.fd);
    free(p->client.pending);
    free(p->server.pending);
    free(p);
}

/* Write `s`'s pending bytes; 0 when done or would block, -1 on error. */
static int flush(struct side *s) {
    while (s->pending != NULL) {
        ssize_t w = send(s->fd, s->pending + s->pending_off, s->pending_len - s->pending_off, MSG_NOSIGNAL);
        if (w < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
        s->pending_off += (size_t)w;
        if (s->pending_off == s->pending_len) {
            free(s->pending);
            s->pending = NULL;
            s->pending_len = s->pending_off = 0;
        }
    }
    if (s->peer->eof && !s->shut) { /* the peer said all it will, and all of it is through */
        shutdown(s->fd, SHUT_WR);
        s->shut = 1;
    }
    return 0;
}

/* Read what `s` has and pass it to its peer; -1 when the pair must close. */
static int pump(struct side *s, char *buf) {
    struct side *to = s->peer;
    while (to->pending == NULL && !s->eof) {
        ssize_t n = recv(s->fd, buf, BUFFER, 0);
        if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
        if (n == 0) {
            s->eof = 1;
            break;
        }
        size_t off = 0;
        while (off < (size_t)n) {
            ssize_t w = send(to->fd, buf + off, (size_t)n - off, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0 && errno != EAGAIN) return -1;
            if (w < 0) break;
            off += (size_t)w;
        }
        if (off < (size_t)n) {
            to->pending = malloc((size_t)n - off);
            if (!to->pending) fail("malloc");
            memcpy(to->pending, buf + off, (size_t)n - off);
            to->pending_len = (size_t)n - off;
            to->pending_off = 0;
        }
    }
    return flush(to);
}

static struct in_addr allowed; /* --allow: the one peer address served (0: any) */

static void accept_all(int ep) {
    int fd;
    struct sockaddr_in peer;
    socklen_t peer_len = sizeof peer;
    while ((fd = accept4(listener, (struct sockaddr *)&peer, &peer_len, SOCK_NONBLOCK)) >= 0) {
        if (allowed.s_addr && (peer_len < sizeof peer || peer.sin_addr.s_addr != allowed.s_addr)) {
            close(fd);
            peer_len = sizeof peer;
            continue;
        }
        peer_len = sizeof peer;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int up = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (up < 0) {
            close(fd);
            continue;
        }
        setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(target_port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int r = connect(up, (struct sockaddr *)&to, sizeof to);
        if (r < 0 && errno != EINPROGRESS) {
            close(fd);
            close(up);
            continue;
        }
        struct pair *p = calloc(1, sizeof *p);
        if (!p) fail("calloc");
        p->client = (struct side){.fd = fd, .pair = p, .peer = &p->server, .events = 0xffffffffu};
        p->server = (struct side){.fd = up, .pair = p, .peer = &p->client, .events = 0xffffffffu};
        p->connecting = r < 0;
        rearm(ep, p);
    }
}

/* Handle one event of side `s`; 1 when the pair was closed (and freed). */
static int handle(int ep, struct side *s, unsigned events, char *buf) {
    struct pair *p = s->pair;
    if (p->connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            close_pair(p);
            return 1;
        }
        if (!(events & EPOLLOUT)) return 0;
        p->connecting = 0;
        rearm(ep, p);
        return 0;
    }
    int bad = (events & EPOLLERR) != 0;
    if (!bad && (events & EPOLLOUT)) bad = flush(s) < 0;
    if (!bad && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))) bad = pump(s, buf) < 0;
    /* done when both sides said all they will and every byte is through, or on any error */
    if (bad || (p->client.eof && p->server.eof && !p->client.pending && !p->server.pending)) {
        close_pair(p);
        return 1;
    }
    rearm(ep, p);
    return 0;
}

static char LISTENER, DROPPED; /* epoll tags that are not a side */

static void *loop(void *arg) {
    (void)arg;
    char *buf = malloc(BUFFER);
    if (!buf) fail("malloc");
    int ep = epoll_create1(0);
    if (ep < 0) fail("epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &LISTENER};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev) < 0) fail("epoll_ctl listener");
    struct epoll_event events[256];
    for (;;) {
        int n = epoll_wait(ep, events, 256, -1);
        if (n < 0 && errno != EINTR) fail("epoll_wait");
        for (int i = 0; i < n; i++) {
            void *tag = events[i].data.ptr;
            if (tag == &LISTENER) {
                accept_all(ep);
                continue;
            }
            if (tag == &DROPPED) continue;
            struct side *s = tag;
            struct side *peer = s->peer; /* read before handle() may free the pair */
            if (handle(ep, s, events[i].events, buf)) /* its peer's event later in this batch is stale */
                for (int j = i + 1; j < n; j++)
                    if (events[j].data.ptr == peer) events[j].data.ptr = &DROPPED;
        }
    }
    return NULL;
}

static void on_term(int sig) {
    (void)sig;
    _exit(0);
}

int main(int argc, char **argv) {
    const char *address = NULL, *allow = NULL;
    int port = -1, threads = 1;
    target_port = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--listen")) address = argv[i + 1];
        else if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--to")) target_port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--allow")) allow = argv[i + 1];
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (!address || inet_pton(AF_INET, address, &addr.sin_addr) != 1 || port < 0 || port > 65535 ||
        target_port < 1 || target_port > 65535 || threads < 1 ||
        (allow && inet_pton(AF_INET, allow, &allowed) != 1)) {
        fprintf(stderr, "usage: %s --listen IPV4_ADDRESS --port P --to PORT --threads N [--allow IPV4_ADDRESS]\n",
                argv[0]);
        return 2;
    }
    signal(SIGTERM, on_term);
    signal(SIGPIPE, SIG_IGN);
    listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (listener < 0) fail("socket");
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) fail("bind");
    if (listen(listener, 4096) < 0) fail("listen");
    socklen_t len = sizeof addr;
    if (getsockname(listener, (struct sockaddr *)&addr, &len) < 0) fail("getsockname");
    printf("{\"ready\": true, \"port\": %d}\n", ntohs(addr.sin_port));
    fflush(stdout);
    pthread_t t;
    for (int i = 1; i < threads; i++)
        if (pthread_create(&t, NULL, loop, NULL) != 0) fail("pthread_create");
    loop(NULL);
    return 0;
}
