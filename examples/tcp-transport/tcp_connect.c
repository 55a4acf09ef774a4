/*
 * tcp_connect.c — reaching the server: resolve, then a non-blocking connect to each address, all
 * bounded by connect_timeout; with "reconnect", failed attempts are retried with back-off (100 ms,
 * doubling up to 2 s) until then. close/destroy interrupt every wait (the wake socket).
 * Runs on the connection's thread only. Name resolution (getaddrinfo) is the one wait that cannot
 * be interrupted: a destroy during a slow DNS lookup waits for it.
 */
#define _POSIX_C_SOURCE 200809L
#include "tcp_conn_internal.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BACKOFF_FIRST_NS (100 * MS)
#define BACKOFF_MAX_NS (2000 * MS)

/*
 * Waits until `fd` has `events` or `deadline` passes, waking early for close/destroy.
 * Returns 1 when fd is ready, 0 on timeout, -1 when the connection is being closed.
 */
static int wait_fd(tcp_conn *c, int fd, short events, uint64_t deadline) {
    for (;;) {
        if (tcp_stopping(c)) return -1;
        struct pollfd fds[2] = {{fd, events, 0}, {c->wake[0], POLLIN, 0}};
        int n = poll(fds, 2, tcp_ms_until(deadline));
        if (n > 0 && fds[1].revents) tcp_drain_wake(c);
        if (n > 0 && fds[0].revents) return 1;
        if (tcp_now_ns() >= deadline) return 0;
    }
}

/* Sleeps until `deadline` unless close/destroy comes first. False when it did. */
static bool sleep_until(tcp_conn *c, uint64_t deadline) {
    for (;;) {
        if (tcp_stopping(c)) return false;
        struct pollfd fds[1] = {{c->wake[0], POLLIN, 0}};
        int n = poll(fds, 1, tcp_ms_until(deadline));
        if (n > 0) tcp_drain_wake(c);
        if (tcp_now_ns() >= deadline) return !tcp_stopping(c);
    }
}

/* ---- Connecting ------------------------------------------------------------------------------- */

typedef enum { A_OK, A_RETRY, A_FATAL, A_STOPPED } attempt;

/* Tries each address of the host once (non-blocking connect, bounded by `deadline`). */
static attempt connect_once(tcp_conn *c, uint64_t deadline, int *out_fd, int *out_errno, char *why, size_t why_cap) {
    struct addrinfo hints, *list = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV; /* no AI_ADDRCONFIG: it hides 127.0.0.1 on hosts without other IPv4 */
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)c->cfg.port);
    int rc = getaddrinfo(c->cfg.host, port, &hints, &list);
    if (rc != 0) {
        *out_errno = 0;
        if (rc == EAI_SYSTEM) {
            *out_errno = errno;
            tcp_error_text(errno, why, why_cap);
            return A_RETRY;
        }
        snprintf(why, why_cap, "cannot resolve '%s': %s", c->cfg.host, gai_strerror(rc));
        return rc == EAI_AGAIN ? A_RETRY : A_FATAL;
    }
    attempt result = A_RETRY;
    for (struct addrinfo *ai = list; ai; ai = ai->ai_next) {
#ifdef SOCK_CLOEXEC
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
#else
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
#endif
        if (fd < 0) {
            *out_errno = errno;
            tcp_error_text(errno, why, why_cap);
            continue;
        }
        tcp_set_cloexec_nonblock(fd);
        int err = 0;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            err = errno;
            if (err == EINPROGRESS || err == EINTR) {
                int ready = wait_fd(c, fd, POLLOUT, deadline);
                if (ready < 0) {
                    close(fd);
                    result = A_STOPPED;
                    break;
                }
                if (ready == 0) {
                    err = ETIMEDOUT;
                } else {
                    socklen_t len = sizeof err;
                    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
                }
            }
        }
        if (err == 0) {
            *out_fd = fd;
            result = A_OK;
            break;
        }
        close(fd);
        *out_errno = err;
        tcp_error_text(err, why, why_cap);
    }
    freeaddrinfo(list);
    return result;
}

tcp_phase tcp_connect_phase(tcp_conn *c, int *out_fd, char *detail, size_t cap) {
    uint64_t start = tcp_now_ns();
    uint64_t deadline = start + c->cfg.connect_timeout_ns; /* at most 1 h: no wrap */
    uint64_t backoff = BACKOFF_FIRST_NS;
    unsigned attempts = 0;
    int err = 0;
    char why[300] = "no address";
    for (;;) {
        if (tcp_stopping(c)) {
            snprintf(detail, cap, "closed before the connection to %s was made", c->label);
            return P_CLOSED;
        }
        attempts++;
        attempt a = connect_once(c, deadline, out_fd, &err, why, sizeof why);
        if (a == A_OK) {
            if (attempts > 1) tcp_log(c, MCPH_LOG_INFO, "connected to %s at attempt %u", c->label, attempts);
            return P_CONNECTED;
        }
        if (a == A_STOPPED) {
            snprintf(detail, cap, "closed before the connection to %s was made", c->label);
            return P_CLOSED;
        }
        uint64_t now = tcp_now_ns();
        if (a == A_FATAL || !c->cfg.reconnect || now >= deadline) break;
        uint64_t wait = deadline - now < backoff ? deadline - now : backoff;
        tcp_log(c, MCPH_LOG_DEBUG, "connect to %s failed: %s; retrying in %llu ms (attempt %u)", c->label, why,
                 (unsigned long long)(wait / MS), attempts);
        if (!sleep_until(c, now + wait)) {
            snprintf(detail, cap, "closed before the connection to %s was made", c->label);
            return P_CLOSED;
        }
        backoff = backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : backoff * 2;
    }
    double seconds = (double)(tcp_now_ns() - start) / 1e9;
    if (err == ETIMEDOUT)
        snprintf(detail, cap, "connect to %s timed out after %.1f s (connect_timeout)", c->label, seconds);
    else if (attempts > 1)
        snprintf(detail, cap, "connect to %s failed: %s (%u attempts in %.1f s; connect_timeout)", c->label, why, attempts, seconds);
    else
        snprintf(detail, cap, "connect to %s failed: %s", c->label, why);
    return P_FAILED;
}
