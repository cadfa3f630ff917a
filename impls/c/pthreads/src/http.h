#ifndef CMBENCH_HTTP_H
#define CMBENCH_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum server_kind { SERVER_THREADS, SERVER_EPOLL };

/* A request head (request line and headers) longer than this is answered 431 and the
 * connection closed; a connection's input buffer must hold at least this many bytes. */
#define HTTP_MAX_HEAD 8192
/* No response is longer than this; http_serve stops when less room is left. */
#define HTTP_MAX_RESPONSE 256

/* Per-connection parser state. */
struct http_session {
    uint64_t body_left; /* request body bytes still to skip */
    bool close;         /* the last response closed the connection */
};

/* Answers the complete requests at the start of in[0..len), appending the responses to
 * out[*out_len..cap). Stops at an incomplete request, when out has no room for another
 * response, or after a response that closes the connection (s->close is then set). Returns
 * the number of input bytes consumed. */
size_t http_serve(struct http_session *s, const char *in, size_t len, char *out, size_t cap, size_t *out_len);

/* A TCP listener on 127.0.0.1:port with SO_REUSEADDR (and SO_REUSEPORT when asked). */
int http_listen(uint16_t port, bool reuseport, bool nonblocking);

/* The port a socket is bound to. */
uint16_t http_bound_port(int fd);

/* Sets TCP_NODELAY on an accepted socket. */
void http_nodelay(int fd);

/* Starts the server's threads and returns the port it listens on. */
uint16_t start_thread_server(uint16_t port);
uint16_t start_epoll_server(uint16_t port, unsigned loops);

/* Runs the http_server workload until SIGTERM, then exits with status 0. */
int http_main(uint16_t port, unsigned cpus, enum server_kind kind);

#endif
