/*
 * tcp_queue.h — the bounded send queue of one TCP connection (internal to the plugin).
 *
 * Holds framed messages (the message with CR/LF turned into spaces, plus a '\n') in order. Not
 * thread-safe by itself: the connection's lock guards every call. The writer thread gathers the
 * bytes under the lock, writes them without it (a message's bytes never move and only the writer
 * frees them), then consumes what was written under the lock again.
 *
 * Bound: at most `max_messages` messages and `max_bytes` framed bytes; a push beyond either is
 * refused (TCP_PUSH_FULL, nothing queued) — the transport answers MCPH_E_AGAIN. A single message
 * larger than max_bytes is accepted only into an empty queue (it could never fit otherwise), so the
 * queue holds at most max(max_bytes, one message).
 */
#ifndef MCPH_TCP_QUEUE_H
#define MCPH_TCP_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct tcp_msg {
    struct tcp_msg *next;
    size_t len;        /* framed length, '\n' included */
    uint8_t bytes[];   /* framed bytes */
} tcp_msg;

typedef struct tcp_queue {
    tcp_msg *head, *tail;
    size_t count;         /* messages queued (the partly written head included) */
    size_t bytes;         /* framed bytes queued, the head's already written part included */
    size_t head_written;  /* bytes of the head already written */
    size_t max_messages;
    size_t max_bytes;
} tcp_queue;

typedef enum { TCP_PUSH_QUEUED, TCP_PUSH_FULL, TCP_PUSH_NOMEM } tcp_push_result;

void tcp_queue_init(tcp_queue *q, size_t max_messages, size_t max_bytes);

/* Copies and frames message[0..len) at the tail, or refuses it (see the bound above). */
tcp_push_result tcp_queue_push(tcp_queue *q, const uint8_t *message, size_t len);

/* Whether the queue has drained to at most half of both bounds (when a WRITABLE is due). */
bool tcp_queue_below_half(const tcp_queue *q);

/* Fills iov[0..max) with the unwritten bytes from the head on; returns how many were filled. */
int tcp_queue_gather(const tcp_queue *q, struct iovec *iov, int max);

/* Drops the first n unwritten bytes (n <= what gather offered), freeing finished messages. */
void tcp_queue_consume(tcp_queue *q, size_t n);

/* Frees every queued message. */
void tcp_queue_clear(tcp_queue *q);

#endif
