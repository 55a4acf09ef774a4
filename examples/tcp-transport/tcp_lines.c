/* tcp_lines.c — see tcp_lines.h. */
#include "tcp_lines.h"

#include <stdlib.h>
#include <string.h>

/* A buffer larger than this is given back once it holds no pending bytes. */
#define KEEP_CAP ((size_t)1024 * 1024)

void tcp_lines_init(tcp_lines *l) { memset(l, 0, sizeof *l); }

uint8_t *tcp_lines_space(tcp_lines *l, size_t *avail) {
    if (l->start > 0) { /* move the pending partial line to the front */
        size_t pending = l->len - l->start;
        memmove(l->buf, l->buf + l->start, pending);
        l->scan -= l->start;
        l->len = pending;
        l->start = 0;
    }
    if (l->len == 0 && l->cap > KEEP_CAP) { /* a large message is done: give the memory back */
        free(l->buf);
        l->buf = NULL;
        l->cap = 0;
    }
    if (l->cap - l->len < TCP_READ_CHUNK) {
        size_t want = l->cap ? l->cap * 2 : TCP_READ_CHUNK * 2;
        if (want < l->len + TCP_READ_CHUNK) want = l->len + TCP_READ_CHUNK;
        size_t most = TCP_MAX_LINE + 2 * TCP_READ_CHUNK; /* len stays <= TCP_MAX_LINE + one chunk */
        if (want > most) want = most;
        uint8_t *grown = realloc(l->buf, want);
        if (!grown) return NULL;
        l->buf = grown;
        l->cap = want;
    }
    *avail = l->cap - l->len;
    return l->buf + l->len;
}

void tcp_lines_commit(tcp_lines *l, size_t n) { l->len += n; }

tcp_line_result tcp_lines_next(tcp_lines *l, const uint8_t **line, size_t *len) {
    if (l->len > l->scan) {
        uint8_t *nl = memchr(l->buf + l->scan, '\n', l->len - l->scan);
        if (nl) {
            size_t end = (size_t)(nl - l->buf);
            size_t stop = end;
            if (stop > l->start && l->buf[stop - 1] == '\r') stop--;
            *line = l->buf + l->start;
            *len = stop - l->start;
            l->start = l->scan = end + 1;
            return TCP_LINE_FOUND;
        }
        l->scan = l->len;
    }
    if (l->len - l->start > TCP_MAX_LINE) return TCP_LINE_TOO_LONG;
    return TCP_LINE_NONE;
}

void tcp_lines_rest(tcp_lines *l, const uint8_t **line, size_t *len) {
    *line = l->buf ? l->buf + l->start : NULL;
    *len = l->len - l->start;
    l->start = l->scan = l->len;
}

void tcp_lines_free(tcp_lines *l) {
    free(l->buf);
    memset(l, 0, sizeof *l);
}
