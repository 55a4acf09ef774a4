/*
 * Pure, allocation-free readers for what mcp-bench-load receives: an HTTP/1.1 response head, a
 * chunked body, server-sent events, and the top level of one JSON-RPC message. Each is fed bytes as
 * they arrive (any split) and keeps its state in a small struct the caller owns; none does I/O,
 * reads a clock or allocates. Single-threaded: a struct is used by one caller at a time.
 * Garbage never traps: every reader has a `bad` outcome and fixed bounds, stated on each item.
 */
#ifndef MB_WIRE_H
#define MB_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* ---- JSON-RPC top level ---------------------------------------------------------------------- */

/* Flags of `mb_json.flags`: which top-level members were seen. */
enum {
    MB_JSON_RESULT = 1,  /* "result" */
    MB_JSON_ERROR = 2,   /* "error" */
    MB_JSON_METHOD = 4,  /* "method": a request or notification, not an answer */
    MB_JSON_ID = 8,      /* "id", its value in `id` */
    MB_JSON_BAD = 16,    /* not one JSON object (garbage, a batch, text after the end) */
    MB_JSON_DONE = 32,   /* the top-level object closed */
};

/* Streaming scan of one JSON value: finds the members of the top-level object without building
 * anything. Nesting depth is only counted (bound: 1,000,000 levels, then BAD). `id` holds the raw
 * id value (a string id with its leading quote, so 7 and "7" differ), truncated to 31 bytes. */
typedef struct {
    uint32_t depth;
    uint8_t flags;
    uint8_t in_string, escape;
    uint8_t expect_key;    /* at depth 1, the next string is a key */
    uint8_t in_key;        /* reading a depth-1 key into `key` */
    uint8_t value_pending; /* at depth 1, after ':' and before the value's first byte */
    uint8_t current;       /* which key the pending/current depth-1 value belongs to (0 other, 1 id) */
    uint8_t id_capture;    /* 0 no, 1 primitive, 2 string */
    uint8_t in_prim;       /* inside a depth-1 number/true/false/null */
    uint8_t key_len, id_len;
    char key[8];
    char id[32];
} mb_json;

void mb_json_reset(mb_json *j);
void mb_json_feed(mb_json *j, const char *p, size_t n);
/* A complete answer: one object with an id and a result or an error, and no method. */
int mb_json_is_answer(const mb_json *j);
/* Whether the captured id is exactly `id` (`len` bytes, compared raw). */
int mb_json_id_is(const mb_json *j, const char *id, size_t len);

/* ---- Server-sent events ---------------------------------------------------------------------- */

/* Reads an event stream; the `data:` lines of each event go to `json` (joined by '\n'). Field names
 * longer than 7 bytes are ignored lines; lines are otherwise unbounded (their bytes are scanned,
 * not kept). Line ends: CRLF, LF or CR. */
typedef struct {
    uint8_t state;
    uint8_t after_cr;
    uint8_t has_data;
    uint8_t field_len;
    char field[8];
    mb_json json;
} mb_sse;

void mb_sse_reset(mb_sse *s);
/* Consumes bytes up to and including the end of one event at most; returns how many. Sets
 * `*event` to 1 when an event with data ended: its JSON is in `s->json` until the next call, which
 * starts the next event afresh. */
size_t mb_sse_feed(mb_sse *s, const char *p, size_t n, int *event);

/* ---- Chunked transfer coding ----------------------------------------------------------------- */

/* Decodes `Transfer-Encoding: chunked`. Chunk sizes: at most 15 hex digits; trailer: at most
 * 64 KiB, else BAD. */
typedef struct {
    uint8_t state;
    uint8_t digits;
    uint64_t remaining;
    uint32_t trailer_bytes;
} mb_chunked;

enum { MB_CHUNK_MORE = 0, MB_CHUNK_DONE = 1, MB_CHUNK_BAD = -1 };

void mb_chunked_reset(mb_chunked *c);
/* Consumes up to `n` bytes (`*consumed`), yielding at most one span of body data (`*data`,
 * `*data_len`, pointing into `p`). MORE: call again with the rest (or more input); DONE: the last
 * chunk and the trailer are consumed (bytes after them are not); BAD: malformed. */
int mb_chunked_feed(mb_chunked *c, const char *p, size_t n, size_t *consumed, const char **data, size_t *data_len);

/* ---- Response head --------------------------------------------------------------------------- */

enum { MB_BODY_NONE = 0, MB_BODY_LENGTH = 1, MB_BODY_CHUNKED = 2, MB_BODY_UNTIL_CLOSE = 3 };

/* What mcp-bench-load needs from a response head. `session_id` is copied only when it is 1 to 255
 * visible ASCII bytes (it is sent back in a header); else `session_id_bad` is set. */
typedef struct {
    int status;
    int body;             /* MB_BODY_* */
    uint64_t length;      /* for MB_BODY_LENGTH */
    int close;            /* the server will close after this response */
    int sse;              /* Content-Type text/event-stream */
    int session_id_len;   /* 0: no Mcp-Session-Id */
    int session_id_bad;
    char session_id[256];
} mb_head;

/* Finds the blank line ending a head in `buf[0..<len]`: 1 and `*end` (the index after it), or 0. */
int mb_head_end(const char *buf, size_t len, size_t *end);
/* Parses a complete head (`buf[0..<len]`, as `mb_head_end` delimited it): 0, or -1 when it is not
 * an HTTP/1.x response head (bad status line, header without ':', bad or conflicting lengths). */
int mb_head_parse(const char *buf, size_t len, mb_head *h);

#endif
