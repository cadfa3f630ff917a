#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "http.h"

/* Thread per connection: one acceptor thread blocks in accept4 and starts a detached thread
 * with a 64 KiB stack for each connection, which serves it with blocking recv/send. */

static bool send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

static void *connection_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char in[HTTP_MAX_HEAD];
    char out[4096];
    size_t have = 0;
    struct http_session session = {0};

    while (!session.close) {
        ssize_t n = recv(fd, in + have, sizeof in - have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
        size_t pos = 0;
        for (;;) {
            size_t out_len = 0;
            size_t used = http_serve(&session, in + pos, have - pos, out, sizeof out, &out_len);
            pos += used;
            if (out_len > 0 && !send_all(fd, out, out_len))
                goto done;
            if (session.close || used == 0)
                break;
        }
        memmove(in, in + pos, have - pos);
        have -= pos;
    }
done:
    close(fd);
    return NULL;
}

static void *acceptor_main(void *arg)
{
    int listener = (int)(intptr_t)arg;
    pthread_attr_t attr;
    small_stack_attr(&attr, PTHREAD_CREATE_DETACHED);
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                sleep_ns(10000000); /* out of descriptors or memory: let connections finish */
            else if (errno != EINTR && errno != ECONNABORTED && errno != EPROTO)
                fatal("accept4", errno);
            continue;
        }
        http_nodelay(fd);
        pthread_t thread;
        int err, tries = 0;
        while ((err = pthread_create(&thread, &attr, connection_main, (void *)(intptr_t)fd)) == EAGAIN &&
               ++tries <= 100)
            sleep_ns(1000000);
        if (err != 0) {
            /* No thread for it: the client sees the connection closed. Said once, on stderr. */
            static bool told = false;
            if (!told) {
                told = true;
                fprintf(stderr, "cmbench-c: pthread_create: %s: connections that get no thread are closed "
                                "(limits: ulimit -u, kernel.threads-max, a container's pids limit)\n",
                        strerror(err));
            }
            close(fd);
        }
    }
    return NULL;
}

uint16_t start_thread_server(uint16_t port)
{
    int listener = http_listen(port, false, false);
    spawn_thread(NULL, acceptor_main, (void *)(intptr_t)listener);
    return http_bound_port(listener);
}
