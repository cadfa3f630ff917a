#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

/* ---- Date: cached per thread, reformatted when the second changes ---- */

#define DATE_LEN 29 /* "Sun, 22 Nov 2026 10:00:00 GMT" */

static _Thread_local struct {
    time_t second;
    char text[DATE_LEN + 1];
} date_cache = {.second = -1};

/* The current IMF-fixdate. No locale is ever set, so strftime uses the C locale's names. */
static const char *http_date(void)
{
    time_t now = time(NULL);
    if (now != date_cache.second) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(date_cache.text, sizeof date_cache.text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        date_cache.second = now;
    }
    return date_cache.text;
}

/* ---- Request parsing ---- */

struct request {
    size_t length;           /* bytes of the request head, blank line included */
    uint64_t content_length; /* body bytes that follow the head */
    int status;
    bool head;               /* HEAD: the response has no body */
    bool close;              /* close the connection after the response */
    bool keep_alive_10;      /* HTTP/1.0 with Connection: keep-alive */
};

struct text {
    const char *p;
    size_t n;
};

static bool text_is(struct text t, const char *lit)
{
    return t.n == strlen(lit) && memcmp(t.p, lit, t.n) == 0;
}

static bool text_is_nocase(struct text t, const char *lit)
{
    return t.n == strlen(lit) && strncasecmp(t.p, lit, t.n) == 0;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static struct text trim(struct text t)
{
    while (t.n > 0 && is_ows(t.p[0])) {
        t.p++;
        t.n--;
    }
    while (t.n > 0 && is_ows(t.p[t.n - 1]))
        t.n--;
    return t;
}

/* Whether a comma-separated header value lists tok (case-insensitive). */
static bool has_token(struct text value, const char *tok)
{
    const char *p = value.p, *end = value.p + value.n;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma != NULL ? comma : end;
        if (text_is_nocase(trim((struct text){p, (size_t)(stop - p)}), tok))
            return true;
        p = stop + 1;
    }
    return false;
}

static bool parse_length(struct text v, uint64_t *out)
{
    uint64_t n = 0;
    if (v.n == 0 || v.n > 18)
        return false;
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return false;
        n = n * 10 + (uint64_t)(v.p[i] - '0');
    }
    *out = n;
    return true;
}

/* Parses the head [p, end): end is just past the CRLF of its last line (the blank line is not
 * included). Sets status, close and the rest of r except length. */
static void parse_head(const char *p, const char *end, struct request *r)
{
    r->status = 400;
    r->close = true;
    const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
    const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
    if (sp1 == NULL || sp1 == p)
        return;
    const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
    if (sp2 == NULL || sp2 == sp1 + 1)
        return;
    struct text method = {p, (size_t)(sp1 - p)};
    struct text target = {sp1 + 1, (size_t)(sp2 - sp1 - 1)};
    struct text version = {sp2 + 1, (size_t)(eol - sp2 - 1)};
    bool http10;
    if (text_is(version, "HTTP/1.1"))
        http10 = false;
    else if (text_is(version, "HTTP/1.0"))
        http10 = true;
    else {
        if (version.n >= 5 && memcmp(version.p, "HTTP/", 5) == 0)
            r->status = 505;
        return;
    }

    bool conn_close = false, conn_keep_alive = false, chunked = false;
    for (const char *line = eol + 2; line < end; line = eol + 2) {
        eol = memmem(line, (size_t)(end - line), "\r\n", 2);
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (colon == NULL || colon == line || is_ows(colon[-1]))
            return;
        struct text name = {line, (size_t)(colon - line)};
        struct text value = trim((struct text){colon + 1, (size_t)(eol - colon - 1)});
        if (text_is_nocase(name, "connection")) {
            conn_close |= has_token(value, "close");
            conn_keep_alive |= has_token(value, "keep-alive");
        } else if (text_is_nocase(name, "content-length")) {
            if (!parse_length(value, &r->content_length))
                return;
        } else if (text_is_nocase(name, "transfer-encoding")) {
            chunked = true;
        }
    }
    if (chunked) {
        r->status = 501; /* request bodies are not part of this workload */
        return;
    }

    r->close = http10 ? !conn_keep_alive : conn_close;
    r->keep_alive_10 = http10 && !r->close;
    bool get = text_is(method, "GET");
    r->head = text_is(method, "HEAD");
    if (!text_is(target, "/plaintext"))
        r->status = 404;
    else if (get || r->head)
        r->status = 200;
    else
        r->status = 405;
}

/* ---- Responses ---- */

struct piece {
    const char *p;
    size_t n;
};
#define PIECE(lit) {lit, sizeof(lit) - 1}

struct status {
    int code;
    struct piece line, length, body;
};

static const struct status STATUSES[] = {
    {200, PIECE("HTTP/1.1 200 OK\r\n"), PIECE("13"), PIECE("Hello, World!")},
    {404, PIECE("HTTP/1.1 404 Not Found\r\n"), PIECE("9"), PIECE("Not Found")},
    {405, PIECE("HTTP/1.1 405 Method Not Allowed\r\n"), PIECE("18"), PIECE("Method Not Allowed")},
    {400, PIECE("HTTP/1.1 400 Bad Request\r\n"), PIECE("11"), PIECE("Bad Request")},
    {431, PIECE("HTTP/1.1 431 Request Header Fields Too Large\r\n"), PIECE("31"),
     PIECE("Request Header Fields Too Large")},
    {501, PIECE("HTTP/1.1 501 Not Implemented\r\n"), PIECE("15"), PIECE("Not Implemented")},
    {505, PIECE("HTTP/1.1 505 HTTP Version Not Supported\r\n"), PIECE("26"), PIECE("HTTP Version Not Supported")},
};

static char *put(char *out, struct piece s)
{
    memcpy(out, s.p, s.n);
    return out + s.n;
}

static size_t write_response(char *out, const struct request *r, const char *date)
{
    const struct status *s = &STATUSES[0];
    while (s->code != r->status)
        s++;
    char *p = out;
    p = put(p, s->line);
    p = put(p, (struct piece)PIECE("Content-Type: text/plain\r\nContent-Length: "));
    p = put(p, s->length);
    p = put(p, (struct piece)PIECE("\r\nServer: cmbench-c\r\nDate: "));
    p = put(p, (struct piece){date, DATE_LEN});
    if (r->close)
        p = put(p, (struct piece)PIECE("\r\nConnection: close"));
    else if (r->keep_alive_10)
        p = put(p, (struct piece)PIECE("\r\nConnection: keep-alive"));
    if (r->status == 405)
        p = put(p, (struct piece)PIECE("\r\nAllow: GET, HEAD"));
    p = put(p, (struct piece)PIECE("\r\n\r\n"));
    if (!r->head)
        p = put(p, s->body);
    return (size_t)(p - out);
}

size_t http_serve(struct http_session *s, const char *in, size_t len, char *out, size_t cap, size_t *out_len)
{
    const char *date = NULL;
    size_t pos = 0, o = *out_len;
    while (!s->close) {
        if (s->body_left > 0) {
            size_t skip = len - pos < s->body_left ? len - pos : (size_t)s->body_left;
            pos += skip;
            s->body_left -= skip;
            if (s->body_left > 0)
                break;
        }
        while (len - pos >= 2 && in[pos] == '\r' && in[pos + 1] == '\n')
            pos += 2; /* empty lines before a request line are ignored (RFC 9112, 2.2) */
        if (pos == len || cap - o < HTTP_MAX_RESPONSE)
            break;

        struct request r = {0};
        size_t window = len - pos < HTTP_MAX_HEAD ? len - pos : HTTP_MAX_HEAD;
        const char *blank = memmem(in + pos, window, "\r\n\r\n", 4);
        if (blank != NULL) {
            r.length = (size_t)(blank - (in + pos)) + 4;
            parse_head(in + pos, blank + 2, &r);
        } else if (len - pos >= HTTP_MAX_HEAD) {
            r.length = len - pos;
            r.status = 431;
            r.close = true;
        } else {
            break;
        }
        if (date == NULL)
            date = http_date();
        o += write_response(out + o, &r, date);
        pos += r.length;
        s->body_left = r.content_length;
        s->close = r.close;
    }
    *out_len = o;
    return pos;
}

/* ---- Sockets ---- */

int http_listen(uint16_t port, bool reuseport, bool nonblocking)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        fatal("socket", errno);
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        fatal("setsockopt SO_REUSEADDR", errno);
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        fatal("setsockopt SO_REUSEPORT", errno);
    struct sockaddr_in addr = {
        .sin_family = AF_INET,
        .sin_port = htons(port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
        fatal("bind 127.0.0.1", errno);
    if (listen(fd, 4096) != 0)
        fatal("listen", errno);
    return fd;
}

uint16_t http_bound_port(int fd)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0)
        fatal("getsockname", errno);
    return ntohs(addr.sin_port);
}

void http_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int http_main(uint16_t port, unsigned cpus, enum server_kind kind)
{
    /* SIGTERM and SIGINT are blocked in every thread (the mask is inherited) and taken by
     * sigwait in the main thread, which then exits at once. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    raise_limit(RLIMIT_NOFILE, "RLIMIT_NOFILE");
    raise_limit(RLIMIT_NPROC, "RLIMIT_NPROC");

    uint16_t bound = kind == SERVER_EPOLL ? start_epoll_server(port, cpus) : start_thread_server(port);
    printf("{\"ready\": true, \"port\": %u}\n", (unsigned)bound);
    fflush(stdout);

    int sig;
    while (sigwait(&stop, &sig) != 0) {
    }
    exit(0);
}
