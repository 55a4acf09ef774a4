/*
 * mcp-bench-load: a load generator for MCP over Streamable HTTP, cheap enough that on a 2-core
 * machine the server, not the generator, is what is measured: one thread, epoll (level-triggered),
 * non-blocking sockets, every buffer allocated once at start (nothing per call on the steady path).
 *
 * Each session is its own keep-alive TCP connection (`--window W`: W connections sharing the
 * session, one request at a time on each; no pipelining). A session is opened by POST initialize
 * (its `Mcp-Session-Id` kept), POST notifications/initialized, and with `--get-streams` a GET event
 * stream on a second connection, read and discarded. Then every connection sends tools/call after
 * tools/call until the run ends. Answers may be JSON or SSE, with Content-Length, chunked, or
 * read-until-close bodies. `--plain` skips the session (POST the call as it is: a framework floor).
 *
 * What counts (stdout, one JSON object at the end):
 *   calls      calls finished in the measured period: answered, or failed (an error);
 *   errors     of those, the failed ones, by kind: status (not 200; initialize/notification
 *              answers are checked while opening), jsonrpc (an answer with "error"), timeout (no
 *              answer within --timeout), closed (connection refused, reset or closed before the
 *              answer), protocol (unparsable head or body, over the bounds, wrong id, no answer in
 *              the body);
 *   calls_per_second  calls / seconds; ok_per_second: (calls - errors) / seconds;
 *   latency_us quantiles of the successful calls only (request issued .. response complete);
 *   per_session calls per session; get_streams: GET streams open at the end of the period.
 * With --calls N exactly N calls are issued in the measured period and the run ends when all N have
 * finished. In duration mode a call counts when it finishes inside the period.
 *
 * Bounds: a response head is at most 64 KiB and a response body at most 16 MiB (GET streams are
 * read and discarded without a bound); past either the call is a protocol error and the
 * connection is closed and reopened with the same session id. A failed connection waits one sweep
 * (10 ms) before it is reopened, so a dead server costs ~100 errors/s per connection, not a spin.
 *
 * Exit: 0 when the run completed (errors are counted, not fatal), 1 when a session could not be
 * opened (the reason on stderr), 2 for a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "histogram.h"
#include "selftest.h"
#include "wire.h"

#define RBUF_SIZE (64u * 1024u)          /* head bound, and the size of one read */
#define BODY_MAX (16ull * 1024 * 1024)   /* body bound of an answer (not of GET streams) */
#define SWEEP_NS 10000000ull             /* timeouts and reconnects are checked every 10 ms */
#define MAX_WINDOW 64
#define MAX_SESSIONS 100000

/* ---- Options ----------------------------------------------------------------------------------- */

static struct {
    const char *url;
    int sessions;
    double duration;
    uint64_t calls; /* 0: duration mode */
    double warmup;
    int warmup_given;
    const char *tool;
    const char *arguments;
    int sse, get_streams, plain, keep_sessions;
    int window;
    double timeout;
    const char *bearer;
    int open_concurrency;
    int verbose;
    int list_sessions;
} opt = {NULL, 64, 5, 0, 1, 0, "example__echo", "{\"text\":\"hello, benchmark\"}", 0, 0, 0, 0, 1, 30, NULL, 64, 0, 0};

static struct sockaddr_storage server_addr;
static socklen_t server_addr_len;
static char host_header[300];
static char path[1024];

/* ---- Clock ------------------------------------------------------------------------------------- */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* b - a, or 0 when the clock reads earlier (never wraps). */
static uint64_t since(uint64_t a, uint64_t b) { return b > a ? b - a : 0; }

static uint64_t seconds_ns(double s) {
    if (!(s > 0)) return 0;
    if (s > 1e9) s = 1e9; /* options are checked to far less; this keeps the conversion defined */
    return (uint64_t)(s * 1e9);
}

/* ---- State ------------------------------------------------------------------------------------- */

enum { K_CALL = 0, K_GET = 1 };
/* What a connection is doing. */
enum {
    S_CLOSED = 0, /* no socket; may be (re)opened */
    S_BACKOFF,    /* no socket after a failure; reopened at the next sweep */
    S_CONNECTING, /* connect in progress; then the request in wbuf (if any) is written */
    S_WRITING,    /* request partly written */
    S_HEAD,       /* reading the response head */
    S_BODY,       /* reading the response body */
    S_IDLE,       /* connected, nothing in flight */
};
/* What the request in flight is. */
enum { P_NONE = 0, P_INIT, P_INITIALIZED, P_CALL, P_GET, P_DELETE };
enum { E_STATUS = 0, E_JSONRPC, E_TIMEOUT, E_CLOSED, E_PROTOCOL, E_KINDS };
static const char *error_names[E_KINDS] = {"status", "jsonrpc", "timeout", "closed", "protocol"};

typedef struct session session;

typedef struct {
    int fd;
    uint32_t gen;   /* bumped per socket: stale epoll events of a closed socket are ignored */
    uint32_t index; /* in conns[] */
    uint8_t kind, state, purpose;
    uint8_t want_out;   /* EPOLLOUT registered */
    uint8_t stream_up;  /* GET: head 200 seen, the stream is open */
    uint8_t measured;   /* the call in flight counts */
    uint8_t answer;     /* SSE: 0 none yet, 1 result, 2 error */
    session *s;
    char *rbuf;
    size_t rlen;
    char *wbuf;
    size_t wcap, wlen, woff;
    uint64_t started, deadline; /* deadline 0: none */
    char expect_id[24];
    size_t expect_len;
    mb_head head;
    mb_chunked chunk;
    mb_sse sse;
    mb_json json;
    uint64_t body_left, body_len;
} conn;

enum { SS_WAITING = 0, SS_OPENING, SS_OPEN, SS_DELETING, SS_DONE };

struct session {
    int index;
    uint8_t state;
    int pending;   /* opening steps left (connections to connect, the GET head) */
    uint64_t next_id;
    uint64_t counted; /* calls finished in the measured period */
    int sid_len;
    char sid[256];
    conn *calls[MAX_WINDOW];
    conn *get;
};

enum { PH_OPENING = 0, PH_WARMUP, PH_MEASURED, PH_DRAINING, PH_DONE };

static struct {
    int phase;
    int epfd;
    conn *conns;
    uint32_t nconns;
    session *sessions;
    int next_to_open, opening, open_count;
    uint64_t t_start, t_open, t_measure, t_end, drain_deadline;
    uint64_t issued, finished, errors, error_kinds[E_KINDS];
    uint64_t sse_answers; /* counted calls whose answer came as an event stream */
    int get_streams_open, get_streams_at_end, get_streams_dropped;
    int deleted;
    mb_hist hist;
    /* The tools/call body is head_part + id + mid_part [+ id + meta_tail] + tail_part (see call_body). */
    char body_head[64], body_tail[4096];
    size_t body_head_len, body_tail_len;
    size_t head_room; /* bytes of wbuf for a request head; the body is built after them */
} g;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) { (void)sig; interrupted = 1; }

static void die_usage(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("mcp-bench-load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(mcp-bench-load --help shows the options)\n", stderr);
    va_end(ap);
    exit(2);
}

static void die_open(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("mcp-bench-load: could not open the sessions: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ---- Requests ---------------------------------------------------------------------------------- */

/* Writes the head of a request into c->wbuf (method, session and auth headers). */
static size_t put_head(conn *c, const char *method, const char *accept, int with_session) {
    session *s = c->s;
    int n = snprintf(c->wbuf, c->wcap, "%s %s HTTP/1.1\r\nHost: %s\r\nAccept: %s\r\n%s%s%s%s%s%s",
                     method, path, host_header, accept,
                     with_session ? "Mcp-Session-Id: " : "", with_session ? s->sid : "", with_session ? "\r\n" : "",
                     with_session ? "MCP-Protocol-Version: 2025-06-18\r\n" : "",
                     opt.bearer ? "Authorization: Bearer " : "", opt.bearer ? opt.bearer : "");
    if (n < 0 || (size_t)n >= c->wcap) return 0;
    size_t len = (size_t)n;
    if (opt.bearer) { memcpy(c->wbuf + len, "\r\n", 2); len += 2; }
    return len;
}

/* A POST of `body` (`blen` bytes); 0 when it does not fit (cannot happen: wcap is sized for it). */
static int put_post(conn *c, int with_session, const char *body, size_t blen) {
    size_t len = put_head(c, "POST", "application/json, text/event-stream", with_session);
    if (len == 0) return 0;
    int n = snprintf(c->wbuf + len, c->wcap - len, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", blen);
    if (n < 0 || len + (size_t)n + blen > c->wcap) return 0;
    len += (size_t)n;
    memcpy(c->wbuf + len, body, blen);
    c->wlen = len + blen;
    c->woff = 0;
    return 1;
}

/* Decimal digits of `v` into `out` (room for 20); returns their count. */
static size_t put_u64(char *out, uint64_t v) {
    char tmp[20];
    size_t n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

/* The tools/call body for id `id` into `out` (room for body_head + body_tail + 80 bytes):
 * {"jsonrpc":"2.0","id":ID,"method":"tools/call","params":{["_meta":{"progressToken":ID},]"name":..,"arguments":..}} */
static size_t call_body(char *out, uint64_t id) {
    static const char mid[] = ",\"method\":\"tools/call\",\"params\":{";
    static const char meta[] = "\"_meta\":{\"progressToken\":";
    size_t n = 0;
    memcpy(out, g.body_head, g.body_head_len);
    n += g.body_head_len;
    n += put_u64(out + n, id);
    memcpy(out + n, mid, sizeof mid - 1);
    n += sizeof mid - 1;
    if (opt.sse) {
        memcpy(out + n, meta, sizeof meta - 1);
        n += sizeof meta - 1;
        n += put_u64(out + n, id);
        out[n++] = '}';
        out[n++] = ',';
    }
    memcpy(out + n, g.body_tail, g.body_tail_len);
    return n + g.body_tail_len;
}

/* ---- Connections ------------------------------------------------------------------------------- */

static void ep_set(conn *c, int out) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0),
                             .data.u64 = ((uint64_t)c->index << 32) | c->gen};
    if (epoll_ctl(g.epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0) c->want_out = (uint8_t)out;
}

static void conn_close(conn *c) {
    if (c->fd >= 0) {
        close(c->fd); /* also removes it from the epoll set */
        c->fd = -1;
    }
    if (c->kind == K_GET && c->stream_up) {
        c->stream_up = 0;
        g.get_streams_open--;
        if (g.phase == PH_WARMUP || g.phase == PH_MEASURED) g.get_streams_dropped++;
    }
    c->state = S_CLOSED;
    c->want_out = 0;
    c->deadline = 0;
    c->rlen = 0;
}

static void start_write(conn *c);
static void fail(conn *c, int kind, const char *why);
static void next_action(conn *c);

/* Opens a socket and connects; the request in wbuf (wlen > 0) is written once connected. */
static void conn_open(conn *c) {
    int fd = socket(server_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { fail(c, E_CLOSED, strerror(errno)); return; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    c->gen++;
    c->rlen = 0;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLOUT, .data.u64 = ((uint64_t)c->index << 32) | c->gen};
    if (epoll_ctl(g.epfd, EPOLL_CTL_ADD, fd, &ev) != 0) { fail(c, E_CLOSED, strerror(errno)); return; }
    c->want_out = 1;
    c->state = S_CONNECTING;
    if (connect(fd, (struct sockaddr *)&server_addr, server_addr_len) != 0 && errno != EINPROGRESS) {
        fail(c, E_CLOSED, strerror(errno));
    }
}

/* Sends the request now in wbuf: on this connection if it is idle, after (re)connecting if not. */
static void send_request(conn *c, int purpose, const char *expect_id, uint64_t now) {
    c->purpose = (uint8_t)purpose;
    c->started = now;
    c->deadline = now + seconds_ns(opt.timeout);
    size_t el = expect_id ? strlen(expect_id) : 0;
    if (el >= sizeof c->expect_id) el = sizeof c->expect_id - 1;
    memcpy(c->expect_id, expect_id ? expect_id : "", el);
    c->expect_id[el] = 0;
    c->expect_len = el;
    if (c->fd >= 0 && c->state == S_IDLE) start_write(c);
    else if (c->fd < 0) conn_open(c);
}

static void start_write(conn *c) {
    c->state = S_WRITING;
    while (c->woff < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
        if (n > 0) { c->woff += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->want_out) ep_set(c, 1);
            return;
        }
        fail(c, E_CLOSED, n < 0 ? strerror(errno) : "connection closed while writing");
        return;
    }
    if (c->want_out) ep_set(c, 0);
    c->state = S_HEAD;
    c->rlen = 0;
}

/* ---- Sessions ---------------------------------------------------------------------------------- */

static void session_step_done(session *s);

static void issue_init(conn *c) {
    static const char body[] =
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\","
        "\"capabilities\":{},\"clientInfo\":{\"name\":\"mcp-bench-load\",\"version\":\"1\"}}}";
    if (!put_post(c, 0, body, sizeof body - 1)) die_open("request buffer too small");
    send_request(c, P_INIT, "0", now_ns());
}

static void issue_initialized(conn *c) {
    static const char body[] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
    if (!put_post(c, 1, body, sizeof body - 1)) die_open("request buffer too small");
    send_request(c, P_INITIALIZED, NULL, now_ns());
}

static void issue_get(conn *c) {
    size_t len = put_head(c, "GET", "text/event-stream", 1);
    if (len == 0 || len + 2 > c->wcap) die_open("request buffer too small");
    memcpy(c->wbuf + len, "\r\n", 2);
    c->wlen = len + 2;
    c->woff = 0;
    send_request(c, P_GET, NULL, now_ns());
}

static void issue_delete(conn *c) {
    size_t len = put_head(c, "DELETE", "application/json, text/event-stream", 1);
    if (len == 0 || len + 2 > c->wcap) { c->s->state = SS_DONE; return; }
    memcpy(c->wbuf + len, "\r\n", 2);
    c->wlen = len + 2;
    c->woff = 0;
    c->s->state = SS_DELETING;
    send_request(c, P_DELETE, NULL, now_ns());
}

static void issue_call(conn *c) {
    session *s = c->s;
    uint64_t id = ++s->next_id;
    char idtext[24];
    idtext[put_u64(idtext, id)] = 0;
    /* The body is built after the head's room (setup sized both), then moved up to the head. */
    char *body = c->wbuf + g.head_room;
    size_t blen = call_body(body, id);
    size_t len = put_head(c, "POST", "application/json, text/event-stream", !opt.plain);
    static const char ct[] = "Content-Type: application/json\r\nContent-Length: ";
    if (len == 0 || len + sizeof ct + 24 > g.head_room) die_open("request head too long"); /* setup sized it: cannot happen */
    memcpy(c->wbuf + len, ct, sizeof ct - 1);
    len += sizeof ct - 1;
    len += put_u64(c->wbuf + len, blen);
    memcpy(c->wbuf + len, "\r\n\r\n", 4);
    len += 4;
    memmove(c->wbuf + len, body, blen);
    c->wlen = len + blen;
    c->woff = 0;
    c->measured = g.phase == PH_MEASURED;
    if (c->measured) g.issued++;
    send_request(c, P_CALL, idtext, now_ns());
}

/* A session's opening step (connection, GET head) completed. */
static void session_step_done(session *s) {
    if (s->state != SS_OPENING) return;
    if (--s->pending > 0) return;
    s->state = SS_OPEN;
    g.opening--;
    g.open_count++;
}

/* initialize and notifications/initialized are done (or not needed): connect the rest. */
static void session_connect_rest(session *s) {
    s->pending = opt.window - 1 + (opt.get_streams ? 1 : 0) + 1; /* +1: this step itself */
    for (int w = 1; w < opt.window; w++) {
        conn *c = s->calls[w];
        c->wlen = 0;
        c->purpose = P_NONE;
        c->deadline = now_ns() + seconds_ns(opt.timeout);
        conn_open(c);
    }
    if (opt.get_streams) issue_get(s->get);
    session_step_done(s);
}

static void session_begin(session *s) {
    s->state = SS_OPENING;
    g.opening++;
    if (opt.plain) {
        s->pending = opt.window;
        for (int w = 0; w < opt.window; w++) {
            conn *c = s->calls[w];
            c->wlen = 0;
            c->purpose = P_NONE;
            c->deadline = now_ns() + seconds_ns(opt.timeout);
            conn_open(c);
        }
    } else {
        s->pending = 1;
        issue_init(s->calls[0]);
    }
}

static void open_more(void) {
    while (g.opening < opt.open_concurrency && g.next_to_open < opt.sessions) session_begin(&g.sessions[g.next_to_open++]);
}

/* ---- Outcomes ---------------------------------------------------------------------------------- */

static void call_finished(conn *c, int error_kind) {
    uint64_t t = now_ns();
    int counts = c->measured && g.phase == PH_MEASURED;
    c->measured = 0;
    if (!counts) return;
    g.finished++;
    c->s->counted++;
    if (c->head.sse && c->state != S_BACKOFF) g.sse_answers++;
    if (error_kind >= 0) {
        g.errors++;
        g.error_kinds[error_kind]++;
    } else {
        mb_hist_record(&g.hist, since(c->started, t));
    }
}

/* A request failed (or the connection broke under it): count it, close, reopen later. */
static void fail(conn *c, int kind, const char *why) {
    int purpose = c->purpose;
    c->purpose = P_NONE;
    conn_close(c);
    c->state = S_BACKOFF;
    switch (purpose) {
    case P_CALL:
        if (opt.verbose) fprintf(stderr, "mcp-bench-load: call failed (%s): %s\n", error_names[kind], why);
        call_finished(c, kind);
        break;
    case P_INIT: case P_INITIALIZED:
        die_open("session %d: %s failed (%s): %s", c->s->index, purpose == P_INIT ? "initialize" : "notifications/initialized",
                 error_names[kind], why);
        break;
    case P_GET:
        if (c->s->state == SS_OPENING) die_open("session %d: GET stream failed (%s): %s", c->s->index, error_names[kind], why);
        c->state = S_CLOSED; /* a dropped stream is not reopened; counted in get_streams_dropped */
        break;
    case P_DELETE:
        c->s->state = SS_DONE;
        c->state = S_CLOSED;
        break;
    default:
        if (c->s->state == SS_OPENING) die_open("session %d: connect failed: %s", c->s->index, why);
        break;
    }
}

/* The response in flight is complete (head and body read). */
static void response_done(conn *c, int leftover) {
    int purpose = c->purpose;
    session *s = c->s;
    c->purpose = P_NONE;
    c->deadline = 0;
    if (c->head.close || leftover) conn_close(c);
    else c->state = S_IDLE;
    int status = c->head.status;
    switch (purpose) {
    case P_CALL: {
        int kind = -1;
        if (status != 200) kind = E_STATUS;
        else if (c->head.sse) kind = c->answer == 0 ? E_PROTOCOL : c->answer == 2 ? E_JSONRPC : -1;
        else if (!mb_json_is_answer(&c->json) || (!opt.plain && !mb_json_id_is(&c->json, c->expect_id, c->expect_len)))
            kind = E_PROTOCOL;
        else if (c->json.flags & MB_JSON_ERROR) kind = E_JSONRPC;
        if (kind >= 0 && opt.verbose) fprintf(stderr, "mcp-bench-load: call answered with an error (%s, HTTP %d)\n", error_names[kind], status);
        call_finished(c, kind);
        break;
    }
    case P_INIT: {
        int ok = status == 200 && (c->head.sse ? c->answer == 1 : (mb_json_is_answer(&c->json) && !(c->json.flags & MB_JSON_ERROR)));
        if (!ok) die_open("session %d: initialize answered HTTP %d%s", s->index, status,
                          status == 200 ? " without a result" : "");
        if (c->head.session_id_len == 0)
            die_open("session %d: initialize answered without a %s Mcp-Session-Id header", s->index,
                     c->head.session_id_bad ? "usable" : "");
        memcpy(s->sid, c->head.session_id, (size_t)c->head.session_id_len + 1);
        s->sid_len = c->head.session_id_len;
        issue_initialized(c);
        return;
    }
    case P_INITIALIZED:
        if (status < 200 || status > 299) die_open("session %d: notifications/initialized answered HTTP %d", s->index, status);
        session_connect_rest(s);
        break;
    case P_GET: /* the stream ended */
        if (s->state == SS_OPENING) die_open("session %d: GET stream answered HTTP %d", s->index, status);
        conn_close(c);
        return;
    case P_DELETE:
        s->state = SS_DONE;
        g.deleted++;
        break;
    default:
        break;
    }
    next_action(c);
}

/* SSE answer: an event whose JSON answers the request in flight. */
static void sse_event(conn *c) {
    mb_json *j = &c->sse.json;
    if (!mb_json_is_answer(j)) return; /* a notification or a request of the server */
    if (c->purpose == P_CALL && !opt.plain && !mb_json_id_is(j, c->expect_id, c->expect_len)) return;
    if (c->purpose == P_INIT && !mb_json_id_is(j, "0", 1)) return;
    if (c->answer == 0) c->answer = (j->flags & MB_JSON_ERROR) ? 2 : 1;
}

/* Body bytes of the response in flight. Returns 0, or -1 when the connection failed. */
static int body_bytes(conn *c, const char *p, size_t n) {
    if (n == 0) return 0;
    if (c->purpose == P_GET) return 0; /* the session's event stream: read and discarded */
    c->body_len += n;
    if (c->body_len > BODY_MAX) { fail(c, E_PROTOCOL, "response body over 16 MiB"); return -1; }
    if (!c->head.sse) { mb_json_feed(&c->json, p, n); return 0; }
    while (n > 0) {
        int ev = 0;
        size_t k = mb_sse_feed(&c->sse, p, n, &ev);
        p += k;
        n -= k;
        if (ev) sse_event(c);
    }
    return 0;
}

/* Feeds body bytes through the framing; returns 1 when the response completed, 0 for more,
 * -1 when the connection failed. `*used` says how many bytes belonged to this response. */
static int body_feed(conn *c, const char *p, size_t n, size_t *used) {
    *used = 0;
    switch (c->head.body) {
    case MB_BODY_LENGTH: {
        size_t take = n;
        if ((uint64_t)take > c->body_left) take = (size_t)c->body_left;
        c->body_left -= take;
        *used = take;
        if (body_bytes(c, p, take) < 0) return -1;
        return c->body_left == 0;
    }
    case MB_BODY_CHUNKED: {
        size_t off = 0;
        while (off < n) {
            size_t consumed = 0, dlen = 0;
            const char *data = NULL;
            int r = mb_chunked_feed(&c->chunk, p + off, n - off, &consumed, &data, &dlen);
            off += consumed;
            if (r == MB_CHUNK_BAD) { fail(c, E_PROTOCOL, "malformed chunked body"); return -1; }
            if (dlen && body_bytes(c, data, dlen) < 0) return -1;
            if (r == MB_CHUNK_DONE) { *used = off; return 1; }
            if (consumed == 0) break; /* cannot happen; guards the loop */
        }
        *used = off;
        return 0;
    }
    case MB_BODY_UNTIL_CLOSE:
        *used = n;
        return body_bytes(c, p, n) < 0 ? -1 : 0;
    default:
        return 1;
    }
}

/* A complete head is at rbuf[0..<end]. */
static int head_done(conn *c, size_t end) {
    if (mb_head_parse(c->rbuf, end, &c->head) != 0) { fail(c, E_PROTOCOL, "malformed response head"); return -1; }
    if (c->head.status == 101) { fail(c, E_PROTOCOL, "unexpected protocol switch"); return -1; }
    c->body_len = 0;
    c->body_left = c->head.length;
    c->answer = 0;
    mb_chunked_reset(&c->chunk);
    mb_sse_reset(&c->sse);
    mb_json_reset(&c->json);
    if (c->purpose == P_GET && c->head.status >= 200) {
        if (c->head.status == 200 && c->head.sse) {
            c->stream_up = 1;
            c->deadline = 0;
            g.get_streams_open++;
            session_step_done(c->s);
        } else if (c->s->state == SS_OPENING) {
            die_open("session %d: GET stream answered HTTP %d%s", c->s->index, c->head.status,
                     c->head.status == 200 ? " without text/event-stream" : "");
        }
    }
    return 0;
}

/* Bytes read: rbuf[0..<rlen] is unprocessed input. */
static void process(conn *c) {
    size_t off = 0;
    while (off < c->rlen) {
        if (c->state == S_HEAD) {
            size_t end;
            if (!mb_head_end(c->rbuf + off, c->rlen - off, &end)) {
                if (off > 0) { memmove(c->rbuf, c->rbuf + off, c->rlen - off); c->rlen -= off; }
                if (c->rlen >= RBUF_SIZE) fail(c, E_PROTOCOL, "response head over 64 KiB");
                return;
            }
            if (off > 0) { memmove(c->rbuf, c->rbuf + off, c->rlen - off); c->rlen -= off; off = 0; }
            if (head_done(c, end) < 0) return;
            off = end;
            if (c->head.status >= 100 && c->head.status < 200) continue; /* interim: the real head follows */
            c->state = S_BODY;
            if (c->head.body == MB_BODY_NONE) { response_done(c, off < c->rlen); c->rlen = 0; return; }
            continue;
        }
        if (c->state == S_BODY) {
            size_t used;
            int r = body_feed(c, c->rbuf + off, c->rlen - off, &used);
            if (r < 0) return;
            off += used;
            if (r == 1) {
                int leftover = off < c->rlen; /* bytes after a complete response: not HTTP/1.1 without pipelining */
                c->rlen = 0;
                response_done(c, leftover);
                return;
            }
            continue;
        }
        /* Bytes before the request is written, or while nothing is in flight: the server is
         * confused; a request in flight fails, an idle connection starts afresh. */
        if (c->purpose != P_NONE) fail(c, E_PROTOCOL, "response bytes before the request was written");
        else conn_close(c);
        return;
    }
    c->rlen = 0;
}

static void on_readable(conn *c) {
    size_t at = c->state == S_HEAD ? c->rlen : 0;
    if (c->state != S_HEAD) c->rlen = 0;
    ssize_t n = recv(c->fd, c->rbuf + at, RBUF_SIZE - at, 0);
    if (n > 0) {
        c->rlen = at + (size_t)n;
        process(c);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    /* End of stream or an error. */
    if (c->state == S_BODY && c->head.body == MB_BODY_UNTIL_CLOSE) {
        c->head.close = 1;
        response_done(c, 0);
        return;
    }
    if (c->state == S_IDLE) { conn_close(c); next_action(c); return; } /* an idle keep-alive closed */
    if (c->purpose == P_GET && c->stream_up) { conn_close(c); return; }
    fail(c, E_CLOSED, n < 0 ? strerror(errno) : "connection closed before the answer");
}

static void on_writable(conn *c) {
    if (c->state == S_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err) { fail(c, E_CLOSED, strerror(err)); return; }
        if (c->wlen > 0 && c->purpose != P_NONE) { start_write(c); return; }
        ep_set(c, 0);
        c->state = S_IDLE;
        c->deadline = 0;
        if (c->s->state == SS_OPENING) session_step_done(c->s);
        else next_action(c);
        return;
    }
    if (c->state == S_WRITING) { start_write(c); return; }
    if (c->want_out) ep_set(c, 0);
}

/* What an idle (or closed) call connection does next in the current phase. */
static void next_action(conn *c) {
    if (c->kind != K_CALL || c->purpose != P_NONE) return;
    if (c->state != S_IDLE && c->state != S_CLOSED) return;
    session *s = c->s;
    switch (g.phase) {
    case PH_WARMUP:
        issue_call(c);
        break;
    case PH_MEASURED:
        if (opt.calls && g.issued >= opt.calls) return;
        issue_call(c);
        break;
    case PH_DRAINING:
        if (!opt.plain && !opt.keep_sessions && s->state == SS_OPEN && c == s->calls[0]) issue_delete(c);
        break;
    default:
        break;
    }
}

/* ---- Phases ------------------------------------------------------------------------------------ */

static void kick_all(void) {
    for (uint32_t i = 0; i < g.nconns; i++) next_action(&g.conns[i]);
}

static int busy(const conn *c) { return c->purpose != P_NONE && c->purpose != P_GET; }

static void sweep(uint64_t now) {
    for (uint32_t i = 0; i < g.nconns; i++) {
        conn *c = &g.conns[i];
        if (c->deadline && now >= c->deadline && c->state != S_IDLE && c->state != S_CLOSED && c->state != S_BACKOFF) {
            if (c->purpose == P_NONE && c->s->state == SS_OPENING) die_open("session %d: connect timed out", c->s->index);
            fail(c, E_TIMEOUT, "no answer within --timeout");
        } else if (c->state == S_BACKOFF) {
            c->state = S_CLOSED;
            next_action(c);
        }
    }
}

static void begin_measuring(uint64_t now) {
    g.phase = PH_MEASURED;
    g.t_measure = now;
    if (!opt.calls) { /* duration mode: calls in flight count when they finish inside the period */
        for (uint32_t i = 0; i < g.nconns; i++)
            if (g.conns[i].purpose == P_CALL) g.conns[i].measured = 1;
    }
}

static void end_measuring(uint64_t now) {
    g.phase = PH_DRAINING;
    g.t_end = now;
    g.get_streams_at_end = g.get_streams_open;
    double drain = opt.timeout < 5 ? opt.timeout : 5;
    g.drain_deadline = now + seconds_ns(drain);
    kick_all();
}

static int draining_done(void) {
    for (uint32_t i = 0; i < g.nconns; i++) if (busy(&g.conns[i])) return 0;
    return 1;
}

/* ---- Output ------------------------------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void print_result(void) {
    double seconds = (double)since(g.t_measure, g.t_end) / 1e9;
    double per = seconds > 0 ? 1 / seconds : 0;
    uint64_t *counts = calloc((size_t)opt.sessions, sizeof *counts);
    if (counts) {
        for (int i = 0; i < opt.sessions; i++) counts[i] = g.sessions[i].counted;
        qsort(counts, (size_t)opt.sessions, sizeof *counts, cmp_u64);
    }
    const mb_hist *h = &g.hist;
    double us = 1e-3;
    printf("{\"sessions\":%d,\"calls\":%llu,\"errors\":%llu,\"error_kinds\":{", opt.sessions,
           (unsigned long long)g.finished, (unsigned long long)g.errors);
    for (int k = 0; k < E_KINDS; k++) printf("%s\"%s\":%llu", k ? "," : "", error_names[k], (unsigned long long)g.error_kinds[k]);
    printf("},\"seconds\":%.3f,\"calls_per_second\":%.1f,\"ok_per_second\":%.1f,", seconds, (double)g.finished * per,
           (double)(g.finished - g.errors) * per);
    printf("\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f},",
           mb_hist_quantile(h, 0.5) * us, mb_hist_quantile(h, 0.9) * us, mb_hist_quantile(h, 0.99) * us,
           mb_hist_quantile(h, 0.999) * us, (double)h->max_ns * us, h->total ? h->sum_ns / (double)h->total * us : 0);
    if (counts) {
        printf("\"per_session\":{\"min\":%llu,\"p50\":%llu,\"max\":%llu},", (unsigned long long)counts[0],
               (unsigned long long)counts[opt.sessions / 2], (unsigned long long)counts[opt.sessions - 1]);
    }
    if (opt.list_sessions) {
        printf("\"per_session_calls\":[");
        for (int i = 0; i < opt.sessions; i++) printf("%s%llu", i ? "," : "", (unsigned long long)g.sessions[i].counted);
        printf("],");
    }
    printf("\"open_seconds\":%.3f,\"get_streams\":%d,\"get_streams_dropped\":%d,\"sse_answers\":%llu,\"window\":%d,"
           "\"sse\":%s,\"plain\":%s,\"deleted\":%d}\n",
           (double)since(g.t_start, g.t_open) / 1e9, g.get_streams_at_end, g.get_streams_dropped, (unsigned long long)g.sse_answers,
           opt.window, opt.sse ? "true" : "false", opt.plain ? "true" : "false", g.deleted);
    fflush(stdout);
    free(counts);
}

/* ---- Command line ------------------------------------------------------------------------------ */

static const char usage_text[] =
    "usage: mcp-bench-load --url http://127.0.0.1:PORT/mcp [options]\n"
    "  --sessions N          sessions, each on its own keep-alive connection (default 64)\n"
    "  --duration SECONDS    measure for this long after all sessions are open (default 5)\n"
    "  --calls N             measure exactly N calls instead (overrides --duration)\n"
    "  --warmup SECONDS      calls made but not counted first (default 1; 0 with --calls)\n"
    "  --tool NAME           tool to call (default example__echo)\n"
    "  --arguments JSON      its arguments (default {\"text\":\"hello, benchmark\"})\n"
    "  --sse                 ask for SSE answers (a progressToken in _meta)\n"
    "  --get-streams         also open each session's GET event stream (a second connection)\n"
    "  --plain               no MCP session: POST the call to the URL as it is\n"
    "  --window W            connections per session, one call in flight on each (default 1)\n"
    "  --timeout SECONDS     per-call timeout (default 30): an error, the connection is reopened\n"
    "  --bearer TOKEN        send Authorization: Bearer TOKEN\n"
    "  --open-concurrency N  sessions being opened at once (default 64)\n"
    "  --keep-sessions       do not DELETE the sessions at the end\n"
    "  --verbose             say on stderr why each failed call failed\n"
    "  --per-session-list    also print every session's count (per_session_calls)\n"
    "  --self-test           check the HTTP, SSE and JSON readers and the histogram, then exit\n"
    "Prints one JSON object on stdout. Exit 0: run completed (errors counted); 1: sessions could not\n"
    "be opened; 2: usage error.\n";

static double parse_seconds(const char *flag, const char *v, double low, double high) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !(d >= low && d <= high)) die_usage("%s wants seconds from %g to %g, not '%s'", flag, low, high, v);
    return d;
}

static long long parse_int(const char *flag, const char *v, long long low, long long high) {
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < low || n > high) die_usage("%s wants a whole number from %lld to %lld, not '%s'", flag, low, high, v);
    return n;
}

static void parse_url(const char *url) {
    const char *p = url;
    if (strncmp(p, "http://", 7) != 0) die_usage("--url must start with http:// (TLS is not supported): '%s'", url);
    p += 7;
    const char *slash = strchr(p, '/');
    size_t authority = slash ? (size_t)(slash - p) : strlen(p);
    if (authority == 0 || authority >= sizeof host_header) die_usage("--url has no usable host: '%s'", url);
    memcpy(host_header, p, authority);
    host_header[authority] = 0;
    const char *rest = slash ? slash : "/";
    if (strlen(rest) >= sizeof path) die_usage("--url path too long");
    for (const char *q = rest; *q; q++) if ((unsigned char)*q <= 0x20 || *q == 0x7f) die_usage("--url path has a space or control character");
    strcpy(path, rest);
    char host[300], port[16] = "80";
    if (host_header[0] == '[') {
        const char *close = strchr(host_header, ']');
        if (!close) die_usage("--url: unclosed [ in '%s'", url);
        size_t hl = (size_t)(close - host_header - 1);
        memcpy(host, host_header + 1, hl);
        host[hl] = 0;
        if (close[1] == ':') snprintf(port, sizeof port, "%s", close + 2);
    } else {
        const char *colon = strrchr(host_header, ':');
        size_t hl = colon ? (size_t)(colon - host_header) : strlen(host_header);
        memcpy(host, host_header, hl);
        host[hl] = 0;
        if (colon) snprintf(port, sizeof port, "%s", colon + 1);
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || !res) die_usage("--url: cannot resolve '%s' port '%s': %s", host, port, gai_strerror(rc));
    memcpy(&server_addr, res->ai_addr, res->ai_addrlen);
    server_addr_len = res->ai_addrlen;
    freeaddrinfo(res);
}

/* A tool name goes into a JSON string as it is: refuse what would need escaping. */
static void check_tool(const char *name) {
    if (!*name) die_usage("--tool is empty");
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\') die_usage("--tool has a quote, backslash or control character");
}

static void parse_args(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(usage_text, stdout); exit(0); }
        if (!strcmp(a, "--self-test")) exit(mb_self_test() ? 1 : 0);
        if (!strcmp(a, "--sse")) { opt.sse = 1; continue; }
        if (!strcmp(a, "--get-streams")) { opt.get_streams = 1; continue; }
        if (!strcmp(a, "--plain")) { opt.plain = 1; continue; }
        if (!strcmp(a, "--keep-sessions")) { opt.keep_sessions = 1; continue; }
        if (!strcmp(a, "--verbose")) { opt.verbose = 1; continue; }
        if (!strcmp(a, "--per-session-list")) { opt.list_sessions = 1; continue; }
        if (i + 1 >= argc) die_usage("unknown option or missing value: %s", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--url")) opt.url = v;
        else if (!strcmp(a, "--sessions")) opt.sessions = (int)parse_int(a, v, 1, MAX_SESSIONS);
        else if (!strcmp(a, "--duration")) opt.duration = parse_seconds(a, v, 0.001, 86400);
        else if (!strcmp(a, "--calls")) opt.calls = (uint64_t)parse_int(a, v, 1, 1000000000000LL);
        else if (!strcmp(a, "--warmup")) { opt.warmup = parse_seconds(a, v, 0, 3600); opt.warmup_given = 1; }
        else if (!strcmp(a, "--tool")) opt.tool = v;
        else if (!strcmp(a, "--arguments")) opt.arguments = v;
        else if (!strcmp(a, "--window")) opt.window = (int)parse_int(a, v, 1, MAX_WINDOW);
        else if (!strcmp(a, "--timeout")) opt.timeout = parse_seconds(a, v, 0.001, 86400);
        else if (!strcmp(a, "--bearer")) opt.bearer = v;
        else if (!strcmp(a, "--open-concurrency")) opt.open_concurrency = (int)parse_int(a, v, 1, MAX_SESSIONS);
        else if (!strcmp(a, "--rate-limit")) die_usage("--rate-limit is not supported");
        else die_usage("unknown option: %s", a);
    }
    if (!opt.url) die_usage("--url is required");
    if (opt.calls && !opt.warmup_given) opt.warmup = 0;
    if (opt.plain && opt.get_streams) die_usage("--get-streams needs a session; it cannot go with --plain");
    check_tool(opt.tool);
    if (opt.bearer) for (const char *p = opt.bearer; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) die_usage("--bearer has a space or control character");
    mb_json j;
    mb_json_reset(&j);
    mb_json_feed(&j, opt.arguments, strlen(opt.arguments));
    if (!(j.flags & MB_JSON_DONE) || (j.flags & MB_JSON_BAD)) die_usage("--arguments must be one JSON object: '%s'", opt.arguments);
    parse_url(opt.url);
    g.body_head_len = (size_t)snprintf(g.body_head, sizeof g.body_head, "{\"jsonrpc\":\"2.0\",\"id\":");
    int n = snprintf(g.body_tail, sizeof g.body_tail, "\"name\":\"%s\",\"arguments\":%s}}", opt.tool, opt.arguments);
    if (n < 0 || (size_t)n >= sizeof g.body_tail) die_usage("--tool and --arguments are too long (at most about 4 KiB together)");
    g.body_tail_len = (size_t)n;
}

/* ---- Main -------------------------------------------------------------------------------------- */

static void setup(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    uint64_t need = (uint64_t)opt.sessions * (uint64_t)(opt.window + (opt.get_streams ? 1 : 0)) + 16;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
        die_open("%llu connections need more file descriptors than RLIMIT_NOFILE allows (%llu)", (unsigned long long)need,
                 (unsigned long long)rl.rlim_cur);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    g.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (g.epfd < 0) die_open("epoll_create1: %s", strerror(errno));
    g.nconns = (uint32_t)need - 16;
    g.conns = calloc(g.nconns, sizeof *g.conns);
    g.sessions = calloc((size_t)opt.sessions, sizeof *g.sessions);
    if (!g.conns || !g.sessions) die_open("out of memory");
    /* Head (fixed lines, host, path, session id up to 255, bearer) + body, allocated once. */
    g.head_room = 1024 + strlen(host_header) + strlen(path) + (opt.bearer ? strlen(opt.bearer) : 0);
    size_t wcap = g.head_room + g.body_head_len + g.body_tail_len + 128;
    uint32_t k = 0;
    for (int i = 0; i < opt.sessions; i++) {
        session *s = &g.sessions[i];
        s->index = i;
        int per = opt.window + (opt.get_streams ? 1 : 0);
        for (int w = 0; w < per; w++) {
            conn *c = &g.conns[k];
            c->index = k++;
            c->fd = -1;
            c->s = s;
            c->kind = w < opt.window ? K_CALL : K_GET;
            c->rbuf = malloc(RBUF_SIZE);
            c->wbuf = malloc(wcap);
            c->wcap = wcap;
            if (!c->rbuf || !c->wbuf) die_open("out of memory for %u connections", g.nconns);
            if (c->kind == K_CALL) s->calls[w] = c;
            else s->get = c;
        }
    }
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    setup();
    mb_hist_reset(&g.hist);
    g.t_start = now_ns();
    g.phase = PH_OPENING;
    open_more();
    uint64_t next_sweep = g.t_start + SWEEP_NS;
    uint64_t warmup_end = 0, measure_end = 0;
    struct epoll_event events[256];
    for (;;) {
        int n = epoll_wait(g.epfd, events, 256, 10);
        if (n < 0 && errno != EINTR) { perror("mcp-bench-load: epoll_wait"); return 1; }
        for (int i = 0; i < n; i++) {
            uint32_t index = (uint32_t)(events[i].data.u64 >> 32), gen = (uint32_t)events[i].data.u64;
            if (index >= g.nconns) continue;
            conn *c = &g.conns[index];
            if (c->gen != gen || c->fd < 0) continue; /* a socket closed earlier in this batch */
            uint32_t e = events[i].events;
            if (e & EPOLLOUT) on_writable(c);
            if (c->gen != gen || c->fd < 0) continue;
            if (e & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
                if (c->state == S_CONNECTING) { if (e & (EPOLLERR | EPOLLHUP)) on_writable(c); }
                else on_readable(c);
            }
        }
        uint64_t now = now_ns();
        if (now >= next_sweep) {
            sweep(now);
            next_sweep = now + SWEEP_NS;
        }
        switch (g.phase) {
        case PH_OPENING:
            if (interrupted) die_open("interrupted");
            open_more();
            if (g.open_count == opt.sessions) {
                g.t_open = now;
                fprintf(stderr, "mcp-bench-load: %d sessions open in %.3f s%s\n", opt.sessions, (double)since(g.t_start, now) / 1e9,
                        opt.get_streams ? " (with GET streams)" : "");
                if (opt.warmup > 0) {
                    g.phase = PH_WARMUP;
                    warmup_end = now + seconds_ns(opt.warmup);
                } else {
                    begin_measuring(now);
                    measure_end = now + seconds_ns(opt.duration);
                }
                kick_all();
            }
            break;
        case PH_WARMUP:
            if (interrupted) { begin_measuring(now); end_measuring(now); break; }
            if (now >= warmup_end) {
                begin_measuring(now);
                measure_end = now + seconds_ns(opt.duration);
                kick_all(); /* connections held back by nothing: all are busy already */
            }
            break;
        case PH_MEASURED:
            if (interrupted || (opt.calls ? g.finished >= opt.calls : now >= measure_end)) end_measuring(now);
            break;
        case PH_DRAINING: {
            int deletes_left = 0;
            if (!opt.plain && !opt.keep_sessions)
                for (int i = 0; i < opt.sessions; i++) if (g.sessions[i].state == SS_OPEN || g.sessions[i].state == SS_DELETING) deletes_left = 1;
            if ((draining_done() && !deletes_left) || now >= g.drain_deadline) g.phase = PH_DONE;
            break;
        }
        default:
            break;
        }
        if (g.phase == PH_DONE) break;
    }
    print_result();
    return 0;
}
