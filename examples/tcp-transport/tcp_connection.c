/*
 * tcp_connection.c — the life of one connection, on one thread of its own (see tcp_connection.h);
 * connecting is in tcp_connect.c.
 *
 *   connect (non-blocking, with connect_timeout; retried with back-off when "reconnect")
 *     -> OPENED "tcp HOST:PORT"  | FAILED "connect to HOST:PORT failed: <errno text>"
 *   session: poll(socket, wake socket)
 *     readable -> read into the line buffer, one on_message per complete line
 *     writable -> sendmsg() the queued messages (partial writes resumed, EAGAIN waits for POLLOUT)
 *     queue drained to half after an E_AGAIN -> exactly one WRITABLE
 *   close(grace): flush the queue, shutdown(SHUT_WR), read until the server's EOF; the grace bounds
 *     it all -> CLOSED. destroy: the same with no grace, then join.
 *
 * Why a lost connection is not reconnected here. An MCP session lives in the server's connection:
 * the initialize handshake (protocol version, capabilities), the requests in flight and their
 * progress tokens, resource subscriptions. A fresh TCP connection is a fresh, uninitialized session:
 * writing the host's next messages into it would reach a server that never saw `initialize` (it
 * would refuse them, or answer with state the host does not know), and the requests that were in
 * flight are gone with the old connection — resending them could run a tool twice. So when the
 * server closes the connection or it breaks, the transport ends it with FAILED
 * ("connection lost: ..."): the host fails the requests in flight with an error naming the backend
 * and, on the next use, opens a new connection and initializes it. That restart is the reconnect.
 * "reconnect" only governs the first connect of each `open`: retried with back-off (100 ms, doubling
 * up to 2 s) until connect_timeout, so a server that is restarting is reached again.
 * (MCPH_EVENT_SESSION_RESET would let a transport replay the handshake itself, but it also makes the
 * transport settle the requests in flight; with nothing to resume on a raw socket, the host's
 * restart does the same with less code here.)
 */
#define _POSIX_C_SOURCE 200809L
#include "tcp_conn_internal.h"
#include "tcp_lines.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* the host ignores SIGPIPE (docs/plugin-abi.md); SO_NOSIGPIPE below where it exists */
#endif

#define IOV_MAX_GATHER 64
#define READS_PER_TURN 16 /* at most 1 MiB read before the thread looks at its queue again */
#define WRITES_PER_TURN 8

/* ---- Small helpers ---------------------------------------------------------------------------- */

uint64_t tcp_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Milliseconds from now until `deadline`, rounded up, for poll(); 0 when it has passed. */
int tcp_ms_until(uint64_t deadline) {
    uint64_t now = tcp_now_ns();
    if (deadline <= now) return 0;
    uint64_t ms = (deadline - now + MS - 1) / MS;
    return ms > 1000000000ull ? 1000000000 : (int)ms;
}

/* errno as text, thread-safely (strerror is not). */
void tcp_error_text(int err, char *out, size_t cap) {
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    const char *text = strerror_r(err, out, cap);
    if (text != out) snprintf(out, cap, "%s", text);
#else
    if (strerror_r(err, out, cap) != 0) snprintf(out, cap, "error %d", err);
#endif
}

void tcp_log(tcp_conn *c, mcph_log_level level, const char *fmt, ...) {
    char text[700];
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    if (n < 0) return;
    size_t len = (size_t)n < sizeof text ? (size_t)n : sizeof text - 1;
    if (c->cb.on_log) c->cb.on_log(c->cb.ctx, level, text, len);
}

static void emit_event(tcp_conn *c, mcph_conn_event event, int32_t code, const char *detail) {
    c->cb.on_event(c->cb.ctx, event, code, detail, detail ? strlen(detail) : 0);
}

void tcp_set_cloexec_nonblock(int fd) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    flags = fcntl(fd, F_GETFL);
    if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Wakes the connection's thread (a byte on the wake socket; a full socket already means "wake"). */
static void poke(tcp_conn *c) {
    char byte = 1;
    ssize_t ignored = write(c->wake[1], &byte, 1);
    (void)ignored;
}

void tcp_drain_wake(tcp_conn *c) {
    char sink[64];
    while (read(c->wake[0], sink, sizeof sink) > 0) {}
}

bool tcp_stopping(tcp_conn *c) {
    pthread_mutex_lock(&c->lock);
    bool stop = c->closing || c->stop_now;
    pthread_mutex_unlock(&c->lock);
    return stop;
}

/* ---- The session ------------------------------------------------------------------------------ */

typedef enum { IO_OK, IO_EOF, IO_ERROR, IO_TOO_LARGE, IO_NOMEM } io_result;

static bool blank(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return false;
    return true;
}

static void deliver(tcp_conn *c, const uint8_t *line, size_t len) {
    if (blank(line, len)) return; /* blank lines between messages are not messages */
    mcph_bytes message = {line, len, NULL, NULL}; /* borrowed: the host copies before returning */
    c->cb.on_message(c->cb.ctx, message);
}

/* Reads what the socket has (a bounded amount per turn) and hands over every complete line. */
static io_result read_some(tcp_conn *c, int fd, tcp_lines *lines, int *out_errno) {
    for (int turn = 0; turn < READS_PER_TURN; turn++) {
        size_t avail;
        uint8_t *space = tcp_lines_space(lines, &avail);
        if (!space) return IO_NOMEM;
        if (avail > TCP_READ_CHUNK) avail = TCP_READ_CHUNK;
        ssize_t n = read(fd, space, avail);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return IO_OK;
            *out_errno = errno;
            return IO_ERROR;
        }
        if (n == 0) {
            const uint8_t *rest;
            size_t rest_len;
            tcp_lines_rest(lines, &rest, &rest_len); /* a last message without its newline */
            if (rest_len > 0) deliver(c, rest, rest_len);
            return IO_EOF;
        }
        tcp_lines_commit(lines, (size_t)n);
        for (;;) {
            const uint8_t *line;
            size_t len;
            tcp_line_result r = tcp_lines_next(lines, &line, &len);
            if (r == TCP_LINE_TOO_LONG) return IO_TOO_LARGE;
            if (r == TCP_LINE_NONE) break;
            deliver(c, line, len);
        }
    }
    return IO_OK;
}

/* Writes queued bytes until the socket would block, the queue is empty, or the turn is over. */
static io_result write_some(tcp_conn *c, int fd, int *out_errno) {
    for (int turn = 0; turn < WRITES_PER_TURN; turn++) {
        struct iovec iov[IOV_MAX_GATHER];
        pthread_mutex_lock(&c->lock);
        int n = tcp_queue_gather(&c->queue, iov, IOV_MAX_GATHER);
        pthread_mutex_unlock(&c->lock);
        if (n == 0) return IO_OK;
        struct msghdr mh;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = iov;
        mh.msg_iovlen = n;
        ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return IO_OK; /* POLLOUT tells when to go on */
            *out_errno = errno;
            return IO_ERROR;
        }
        pthread_mutex_lock(&c->lock);
        tcp_queue_consume(&c->queue, (size_t)w);
        pthread_mutex_unlock(&c->lock);
    }
    return IO_OK;
}

static tcp_phase session(tcp_conn *c, int fd, char *detail, size_t cap) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  /* JSON-RPC messages are latency-bound */
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one); /* a dead peer is noticed eventually */
#ifdef SO_NOSIGPIPE
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    tcp_lines lines;
    tcp_lines_init(&lines);
    bool write_shut = false;
    tcp_phase result = P_CLOSED;
    char why[200];
    for (;;) {
        pthread_mutex_lock(&c->lock);
        bool stop = c->stop_now, closing = c->closing;
        uint64_t deadline = c->close_deadline;
        size_t queued = c->queue.count;
        bool writable = false;
        if (c->owe_writable && !closing && tcp_queue_below_half(&c->queue)) {
            c->owe_writable = false;
            writable = true;
        }
        pthread_mutex_unlock(&c->lock);
        if (writable) {
            tcp_log(c, MCPH_LOG_DEBUG, "send queue drained to %zu messages: writable again", queued);
            emit_event(c, MCPH_EVENT_WRITABLE, 0, NULL); /* exactly one per E_AGAIN episode */
        }
        if (stop || (closing && tcp_now_ns() >= deadline)) {
            if (queued > 0) snprintf(detail, cap, "closed (%zu queued messages were not sent within the grace)", queued);
            else snprintf(detail, cap, "closed");
            break;
        }
        if (closing && queued == 0 && !write_shut) {
            shutdown(fd, SHUT_WR); /* everything is sent: tell the server, then wait for its EOF */
            write_shut = true;
        }
        struct pollfd fds[2] = {{fd, (short)(POLLIN | (queued > 0 && !write_shut ? POLLOUT : 0)), 0}, {c->wake[0], POLLIN, 0}};
        int n = poll(fds, 2, closing ? tcp_ms_until(deadline) : -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            tcp_error_text(errno, why, sizeof why);
            snprintf(detail, cap, "connection lost: poll failed: %s", why);
            result = P_FAILED;
            break;
        }
        if (fds[1].revents) tcp_drain_wake(c);
        int err = 0;
        if ((fds[0].revents & (POLLOUT | POLLERR)) && queued > 0 && !write_shut) {
            if (write_some(c, fd, &err) != IO_OK) {
                tcp_error_text(err, why, sizeof why);
                if (closing) {
                    snprintf(detail, cap, "closed (writing to %s failed: %s)", c->label, why);
                } else {
                    snprintf(detail, cap, "connection lost: writing to %s failed: %s", c->label, why);
                    result = P_FAILED;
                }
                break;
            }
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            io_result r = read_some(c, fd, &lines, &err);
            if (r == IO_OK) continue;
            if (r == IO_EOF) {
                if (closing) {
                    snprintf(detail, cap, "closed");
                } else {
                    snprintf(detail, cap, "connection lost: %s closed the connection", c->label);
                    result = P_FAILED;
                }
            } else if (r == IO_ERROR) {
                tcp_error_text(err, why, sizeof why);
                if (closing) {
                    snprintf(detail, cap, "closed (reading from %s failed: %s)", c->label, why);
                } else {
                    snprintf(detail, cap, "connection lost: reading from %s failed: %s", c->label, why);
                    result = P_FAILED;
                }
            } else if (r == IO_TOO_LARGE) {
                snprintf(detail, cap, "message too large: %s sent a line longer than %zu MiB", c->label, TCP_MAX_LINE >> 20);
                result = P_FAILED;
            } else {
                snprintf(detail, cap, "out of memory while reading from %s", c->label);
                result = P_FAILED;
            }
            break;
        }
    }
    tcp_lines_free(&lines);
    return result;
}

static void *conn_main(void *arg) {
    tcp_conn *c = arg;
#ifdef __linux__
    prctl(PR_SET_NAME, "mcph-tcp", 0, 0, 0); /* visible in /proc/<pid>/task/<tid>/comm and debuggers */
#endif
    char detail[1024];
    int fd = -1;
    tcp_phase end = tcp_connect_phase(c, &fd, detail, sizeof detail);
    if (end == P_CONNECTED) {
        char opened[TCP_HOST_MAX + 24];
        snprintf(opened, sizeof opened, "tcp %s", c->label);
        emit_event(c, MCPH_EVENT_OPENED, 0, opened);
        end = session(c, fd, detail, sizeof detail);
    }
    if (fd >= 0) close(fd);
    pthread_mutex_lock(&c->lock);
    c->ended = true; /* from here send answers MCPH_E_CLOSED */
    tcp_queue_clear(&c->queue);
    pthread_mutex_unlock(&c->lock);
    if (end == P_FAILED) tcp_log(c, MCPH_LOG_DEBUG, "%s", detail);
    emit_event(c, end == P_FAILED ? MCPH_EVENT_FAILED : MCPH_EVENT_CLOSED, 0, detail); /* the one terminal event */
    return NULL;
}

/* ---- The interface used by tcp_transport.c ---------------------------------------------------- */

tcp_conn *tcp_conn_start(const tcp_config *config, const mcph_conn_callbacks *callbacks, char *err, size_t err_cap) {
    tcp_conn *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, err_cap, "tcp: out of memory");
        return NULL;
    }
    mcph_struct_copy(&c->cb, sizeof c->cb, callbacks, callbacks->struct_size);
    c->cfg = *config;
    if (strchr(config->host, ':')) snprintf(c->label, sizeof c->label, "[%s]:%u", config->host, (unsigned)config->port);
    else snprintf(c->label, sizeof c->label, "%s:%u", config->host, (unsigned)config->port);
    tcp_queue_init(&c->queue, config->queue_messages, config->queue_bytes);
#ifdef SOCK_CLOEXEC
    int made = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c->wake);
#else
    int made = socketpair(AF_UNIX, SOCK_STREAM, 0, c->wake);
#endif
    if (made != 0) {
        char why[120];
        tcp_error_text(errno, why, sizeof why);
        snprintf(err, err_cap, "tcp: cannot make the wake-up socket pair: %s", why);
        free(c);
        return NULL;
    }
    tcp_set_cloexec_nonblock(c->wake[0]);
    tcp_set_cloexec_nonblock(c->wake[1]);
    pthread_mutex_init(&c->lock, NULL);
    int rc = pthread_create(&c->thread, NULL, conn_main, c);
    if (rc != 0) {
        char why[120];
        tcp_error_text(rc, why, sizeof why);
        snprintf(err, err_cap, "tcp: cannot start the connection's thread: %s", why);
        close(c->wake[0]);
        close(c->wake[1]);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
    }
    return c;
}

mcph_status tcp_conn_send(tcp_conn *c, mcph_bytes message) {
    mcph_status status = MCPH_OK;
    bool wake = false, full = false;
    size_t count = 0, bytes = 0;
    pthread_mutex_lock(&c->lock);
    if (c->ended || c->closing) {
        status = MCPH_E_CLOSED;
    } else {
        switch (tcp_queue_push(&c->queue, message.ptr, message.len)) {
        case TCP_PUSH_QUEUED:
            wake = c->queue.count == 1; /* the thread only needs a nudge when the queue was empty */
            break;
        case TCP_PUSH_FULL:
            status = MCPH_E_AGAIN;
            full = !c->owe_writable;
            c->owe_writable = true;
            count = c->queue.count;
            bytes = c->queue.bytes;
            break;
        case TCP_PUSH_NOMEM:
            status = MCPH_E_FAILED;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    if (wake) poke(c);
    if (full) tcp_log(c, MCPH_LOG_DEBUG, "send queue full (%zu messages, %zu bytes): back-pressure until %s reads", count, bytes, c->label);
    if (message.release) message.release(message.release_ctx, message.ptr, message.len); /* send always consumes */
    return status;
}

mcph_status tcp_conn_close(tcp_conn *c, uint32_t grace_ms) {
    pthread_mutex_lock(&c->lock);
    if (!c->closing) {
        c->closing = true;
        c->close_deadline = tcp_now_ns() + (uint64_t)grace_ms * MS; /* < 2^32 ms: no wrap */
    }
    pthread_mutex_unlock(&c->lock);
    poke(c);
    return MCPH_OK;
}

void tcp_conn_destroy(tcp_conn *c) {
    pthread_mutex_lock(&c->lock);
    if (!c->closing) c->close_deadline = tcp_now_ns();
    c->closing = true;
    c->stop_now = true;
    pthread_mutex_unlock(&c->lock);
    poke(c);
    pthread_join(c->thread, NULL); /* after this, no callback of this connection runs */
    close(c->wake[0]);
    close(c->wake[1]);
    tcp_queue_clear(&c->queue);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
