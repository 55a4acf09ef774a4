/*
 * tcp_lines.h — splits the bytes read from a socket into lines (internal to the plugin).
 *
 * Reads go straight into the buffer (tcp_lines_space, then tcp_lines_commit with what read()
 * returned), so a message arriving in many partial reads is assembled without extra copies; a
 * read may also carry several messages. Lines come out without the '\n' and without a '\r' before
 * it. Owned by the connection's thread alone: no locking.
 *
 * Bound: a line may hold up to TCP_MAX_LINE bytes; once more than that is buffered without a
 * newline, tcp_lines_next answers TCP_LINE_TOO_LONG and the connection ends (the stream cannot be
 * resynchronised reliably). The buffer never grows past TCP_MAX_LINE plus two read chunks, and
 * shrinks back once a large message has been handed over.
 */
#ifndef MCPH_TCP_LINES_H
#define MCPH_TCP_LINES_H

#include <stddef.h>
#include <stdint.h>

#define TCP_MAX_LINE ((size_t)64 * 1024 * 1024) /* 64 MiB */
#define TCP_READ_CHUNK ((size_t)64 * 1024)

typedef struct tcp_lines {
    uint8_t *buf;
    size_t cap;    /* allocated bytes */
    size_t start;  /* first byte not yet handed out */
    size_t len;    /* bytes in buf */
    size_t scan;   /* where the search for the next '\n' resumes (start <= scan <= len) */
} tcp_lines;

typedef enum { TCP_LINE_NONE = 0, TCP_LINE_FOUND = 1, TCP_LINE_TOO_LONG = -1 } tcp_line_result;

void tcp_lines_init(tcp_lines *l);

/* Room for at least TCP_READ_CHUNK more bytes at the end; *avail gets its size. NULL if out of memory. */
uint8_t *tcp_lines_space(tcp_lines *l, size_t *avail);

/* n bytes were read into the space just given. */
void tcp_lines_commit(tcp_lines *l, size_t n);

/* The next complete line (borrowed until the next call that changes l). */
tcp_line_result tcp_lines_next(tcp_lines *l, const uint8_t **line, size_t *len);

/* At end of stream: what is left without a final newline (may be empty). */
void tcp_lines_rest(tcp_lines *l, const uint8_t **line, size_t *len);

void tcp_lines_free(tcp_lines *l);

#endif
