/*
 * tcp_conn_internal.h — the state of one connection and the helpers its two halves share
 * (tcp_connect.c: reaching the server; tcp_connection.c: the session and the ABI-facing calls).
 * Internal to the plugin; every symbol here is hidden (-fvisibility=hidden).
 */
#ifndef MCPH_TCP_CONN_INTERNAL_H
#define MCPH_TCP_CONN_INTERNAL_H

#include "mcph_plugin.h"
#include "tcp_config.h"
#include "tcp_connection.h"
#include "tcp_queue.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define MS ((uint64_t)1000000) /* nanoseconds in a millisecond */

struct tcp_conn {
    mcph_conn_callbacks cb;        /* copied at open (at most the host's struct_size); cb.ctx valid until destroy returns */
    tcp_config cfg;                /* fixed at open */
    char label[TCP_HOST_MAX + 16]; /* "host:port" or "[v6]:port", for events and logs */
    pthread_t thread;
    int wake[2];                   /* socketpair: the thread polls wake[0]; send/close/destroy write wake[1] */
    pthread_mutex_t lock;          /* guards the fields below; never held while calling the host */
    tcp_queue queue;
    bool owe_writable;             /* send answered MCPH_E_AGAIN: one WRITABLE is owed */
    bool closing;                  /* close() or destroy() was called: send answers MCPH_E_CLOSED */
    bool stop_now;                 /* destroy(): end without waiting for anything */
    uint64_t close_deadline;       /* monotonic ns by which the close must be over */
    bool ended;                    /* the terminal event is decided: send answers MCPH_E_CLOSED */
};

/* How a phase of the connection's thread ended. */
typedef enum { P_CONNECTED, P_CLOSED, P_FAILED } tcp_phase;

/*
 * Connects to the configured server (see tcp_connect.c). P_CONNECTED with *out_fd set (non-blocking,
 * close-on-exec); P_CLOSED when close/destroy came first; P_FAILED with the reason in detail.
 */
tcp_phase tcp_connect_phase(tcp_conn *c, int *out_fd, char *detail, size_t cap);

uint64_t tcp_now_ns(void);                              /* CLOCK_MONOTONIC */
int tcp_ms_until(uint64_t deadline);                    /* for poll(): rounded up, 0 when passed */
void tcp_error_text(int err, char *out, size_t cap);    /* strerror, thread-safe */
bool tcp_stopping(tcp_conn *c);                         /* close or destroy was called */
void tcp_drain_wake(tcp_conn *c);                       /* empties the wake socket */
void tcp_set_cloexec_nonblock(int fd);

/* A log line about this connection, through the host (any thread; never blocks). */
#if defined(__GNUC__) || defined(__clang__)
void tcp_log(tcp_conn *c, mcph_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#else
void tcp_log(tcp_conn *c, mcph_log_level level, const char *fmt, ...);
#endif

#endif
