#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "http.h"

/* One event-loop thread per CPU. Each loop owns a listening socket bound with SO_REUSEPORT
 * (the kernel spreads new connections over the listeners) and an epoll instance, so loops
 * share nothing. Sockets are non-blocking and level-triggered: one recv per readiness event,
 * and a connection keeps no buffers of its own unless a request arrived in pieces or the
 * socket's send buffer filled up. */

#define MAX_EVENTS 256

struct loop {
    int epoll;
    int listener;
    char in[2 * HTTP_MAX_HEAD];
    char out[16384];
};

struct conn {
    int fd;
    bool writing;              /* waiting for EPOLLOUT instead of EPOLLIN */
    struct http_session http;
    char *in;                  /* unprocessed input kept between events */
    size_t in_len;
    char *out;                 /* output the socket did not take yet */
    size_t out_len, out_off;
};

static void conn_close(struct conn *c)
{
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

/* Replaces *dst with a copy of src[0..n) (NULL when n is 0). */
static bool keep(char **dst, size_t *dst_len, const char *src, size_t n)
{
    free(*dst);
    *dst = NULL;
    *dst_len = 0;
    if (n == 0)
        return true;
    if ((*dst = malloc(n)) == NULL)
        return false;
    memcpy(*dst, src, n);
    *dst_len = n;
    return true;
}

static bool watch(struct loop *l, struct conn *c, bool writing)
{
    struct epoll_event ev = {.events = writing ? EPOLLOUT : EPOLLIN, .data.ptr = c};
    c->writing = writing;
    return epoll_ctl(l->epoll, EPOLL_CTL_MOD, c->fd, &ev) == 0;
}

/* Bytes the socket took, or -1 when the connection failed. */
static ssize_t send_some(int fd, const char *buf, size_t len)
{
    for (;;) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* Serves the requests in l->in[0..len) for c, then keeps what is left of the input. */
static void conn_serve(struct loop *l, struct conn *c, size_t len)
{
    size_t pos = 0;
    for (;;) {
        size_t out_len = 0;
        size_t used = http_serve(&c->http, l->in + pos, len - pos, l->out, sizeof l->out, &out_len);
        pos += used;
        if (out_len > 0) {
            ssize_t sent = send_some(c->fd, l->out, out_len);
            if (sent < 0)
                goto fail;
            if ((size_t)sent < out_len) {
                c->out_off = 0;
                if (!keep(&c->out, &c->out_len, l->out + sent, out_len - (size_t)sent) ||
                    !keep(&c->in, &c->in_len, l->in + pos, len - pos) || !watch(l, c, true))
                    goto fail;
                return;
            }
        }
        if (c->http.close)
            goto fail;
        if (used == 0)
            break;
    }
    if (keep(&c->in, &c->in_len, l->in + pos, len - pos))
        return;
fail:
    conn_close(c);
}

static void on_readable(struct loop *l, struct conn *c)
{
    size_t kept = c->in_len;
    if (kept > 0)
        memcpy(l->in, c->in, kept);
    ssize_t n = recv(c->fd, l->in + kept, sizeof l->in - kept, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        conn_close(c);
        return;
    }
    conn_serve(l, c, kept + (size_t)n);
}

static void on_writable(struct loop *l, struct conn *c)
{
    ssize_t sent = send_some(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (sent < 0) {
        conn_close(c);
        return;
    }
    c->out_off += (size_t)sent;
    if (c->out_off < c->out_len)
        return;
    keep(&c->out, &c->out_len, NULL, 0);
    if (c->http.close || !watch(l, c, false)) {
        conn_close(c);
        return;
    }
    size_t kept = c->in_len;
    if (kept > 0) {
        memcpy(l->in, c->in, kept);
        conn_serve(l, c, kept);
    }
}

static void accept_all(struct loop *l)
{
    for (;;) {
        int fd = accept4(l->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                sleep_ns(1000000); /* the listener stays readable: do not spin on it */
            else if (errno != EAGAIN && errno != EWOULDBLOCK)
                fatal("accept4", errno);
            return;
        }
        http_nodelay(fd);
        struct conn *c = calloc(1, sizeof *c);
        if (c == NULL) {
            close(fd);
            continue;
        }
        c->fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(l->epoll, EPOLL_CTL_ADD, fd, &ev) != 0)
            conn_close(c);
    }
}

static void *loop_main(void *arg)
{
    struct loop *l = arg;
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(l->epoll, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fatal("epoll_wait", errno);
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (c == NULL)
                accept_all(l);
            else if (c->writing)
                on_writable(l, c);
            else
                on_readable(l, c);
        }
    }
    return NULL;
}

uint16_t start_epoll_server(uint16_t port, unsigned loops)
{
    struct loop *all = calloc(loops, sizeof *all);
    if (all == NULL)
        fatal("epoll loops", ENOMEM);
    for (unsigned i = 0; i < loops; i++) {
        struct loop *l = &all[i];
        l->listener = http_listen(port, true, true);
        if (port == 0)
            port = http_bound_port(l->listener); /* the other loops bind the same port */
        if ((l->epoll = epoll_create1(EPOLL_CLOEXEC)) < 0)
            fatal("epoll_create1", errno);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        if (epoll_ctl(l->epoll, EPOLL_CTL_ADD, l->listener, &ev) != 0)
            fatal("epoll_ctl", errno);
    }
    for (unsigned i = 0; i < loops; i++)
        spawn_thread(NULL, loop_main, &all[i]);
    return port;
}
