/* tcp_queue.c — see tcp_queue.h. */
#include "tcp_queue.h"

#include <stdlib.h>

void tcp_queue_init(tcp_queue *q, size_t max_messages, size_t max_bytes) {
    q->head = q->tail = NULL;
    q->count = q->bytes = q->head_written = 0;
    q->max_messages = max_messages;
    q->max_bytes = max_bytes;
}

tcp_push_result tcp_queue_push(tcp_queue *q, const uint8_t *message, size_t len) {
    if (len > SIZE_MAX - sizeof(tcp_msg) - 1) return TCP_PUSH_NOMEM;
    size_t framed = len + 1;
    if (q->count > 0 && (q->count >= q->max_messages || framed > q->max_bytes - (q->bytes < q->max_bytes ? q->bytes : q->max_bytes)))
        return TCP_PUSH_FULL;
    tcp_msg *m = malloc(sizeof *m + framed);
    if (!m) return TCP_PUSH_NOMEM;
    /* A raw CR or LF in JSON can only be whitespace between tokens (inside strings it is escaped),
     * so turning it into a space keeps the message and keeps the framing one message per line. */
    for (size_t i = 0; i < len; i++) {
        uint8_t b = message[i];
        m->bytes[i] = (b == '\n' || b == '\r') ? ' ' : b;
    }
    m->bytes[len] = '\n';
    m->len = framed;
    m->next = NULL;
    if (q->tail) q->tail->next = m;
    else q->head = m;
    q->tail = m;
    q->count++;
    q->bytes += framed; /* cannot wrap: a non-empty queue stays within max_bytes, an empty one held 0 */
    return TCP_PUSH_QUEUED;
}

bool tcp_queue_below_half(const tcp_queue *q) {
    return q->count <= q->max_messages / 2 && q->bytes <= q->max_bytes / 2;
}

int tcp_queue_gather(const tcp_queue *q, struct iovec *iov, int max) {
    int n = 0;
    size_t skip = q->head_written;
    for (const tcp_msg *m = q->head; m && n < max; m = m->next) {
        iov[n].iov_base = (void *)(m->bytes + skip);
        iov[n].iov_len = m->len - skip;
        skip = 0;
        n++;
    }
    return n;
}

void tcp_queue_consume(tcp_queue *q, size_t n) {
    while (n > 0 && q->head) {
        tcp_msg *m = q->head;
        size_t left = m->len - q->head_written;
        if (n < left) {
            q->head_written += n;
            return;
        }
        n -= left;
        q->head = m->next;
        if (!q->head) q->tail = NULL;
        q->count--;
        q->bytes -= m->len;
        q->head_written = 0;
        free(m);
    }
}

void tcp_queue_clear(tcp_queue *q) {
    while (q->head) {
        tcp_msg *m = q->head;
        q->head = m->next;
        free(m);
    }
    q->tail = NULL;
    q->count = q->bytes = q->head_written = 0;
}
