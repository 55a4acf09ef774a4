/* Pure readers of mcp-bench-load (see wire.h). */
#include "wire.h"

#include <string.h>

/* ---- JSON-RPC top level ---------------------------------------------------------------------- */

#define MB_JSON_MAX_DEPTH 1000000u

void mb_json_reset(mb_json *j) { memset(j, 0, sizeof *j); }

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static void key_done(mb_json *j) {
    j->in_key = 0;
    j->current = 0;
    if (j->key_len == 6 && memcmp(j->key, "result", 6) == 0) j->flags |= MB_JSON_RESULT;
    else if (j->key_len == 5 && memcmp(j->key, "error", 5) == 0) j->flags |= MB_JSON_ERROR;
    else if (j->key_len == 6 && memcmp(j->key, "method", 6) == 0) j->flags |= MB_JSON_METHOD;
    else if (j->key_len == 2 && memcmp(j->key, "id", 2) == 0) j->current = 1;
}

static void id_byte(mb_json *j, char c) {
    if (j->id_len < sizeof j->id - 1) j->id[j->id_len++] = c;
}

void mb_json_feed(mb_json *j, const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (j->flags & MB_JSON_BAD) return;
        if (j->in_string) {
            if (j->escape) {
                j->escape = 0;
            } else if (c == '\\') {
                j->escape = 1;
            } else if (c == '"') {
                j->in_string = 0;
                if (j->in_key) key_done(j);
                else if (j->id_capture == 2) { j->id_capture = 0; j->flags |= MB_JSON_ID; }
                continue;
            }
            if (j->in_key) {
                /* A key longer than the buffer is none of the four we look for. */
                if (j->key_len < sizeof j->key) j->key[j->key_len++] = c;
                else j->key_len = sizeof j->key; /* stays "too long" */
            } else if (j->id_capture == 2) {
                id_byte(j, c);
            }
            continue;
        }
        if (j->flags & MB_JSON_DONE) {
            if (!is_space(c)) j->flags |= MB_JSON_BAD;
            continue;
        }
        /* A depth-1 primitive (number, true, false, null) ends at the first byte that cannot
         * belong to it. */
        if (j->in_prim && (is_space(c) || c == ',' || c == '}' || c == ']')) {
            j->in_prim = 0;
            if (j->id_capture == 1) { j->id_capture = 0; j->flags |= MB_JSON_ID; }
        }
        switch (c) {
        case ' ': case '\t': case '\n': case '\r':
            break;
        case '"':
            j->in_string = 1;
            if (j->depth == 0) { j->flags |= MB_JSON_BAD; break; }
            if (j->depth == 1 && j->expect_key) {
                j->in_key = 1;
                j->key_len = 0;
                j->expect_key = 0;
            } else if (j->depth == 1 && j->value_pending) {
                j->value_pending = 0;
                if (j->current == 1) { j->id_capture = 2; j->id_len = 0; id_byte(j, '"'); }
            }
            break;
        case '{': case '[':
            if (j->depth == 0 && c != '{') { j->flags |= MB_JSON_BAD; break; }
            if (j->depth == 1) {
                if (!j->value_pending) { j->flags |= MB_JSON_BAD; break; }
                j->value_pending = 0; /* an object or array id is kept as "no id" */
            }
            if (j->depth >= MB_JSON_MAX_DEPTH) { j->flags |= MB_JSON_BAD; break; }
            j->depth++;
            if (j->depth == 1) j->expect_key = 1;
            break;
        case '}': case ']':
            if (j->depth == 0) { j->flags |= MB_JSON_BAD; break; }
            j->depth--;
            if (j->depth == 0) j->flags |= MB_JSON_DONE;
            break;
        case ':':
            if (j->depth == 1) { j->expect_key = 0; j->value_pending = 1; }
            break;
        case ',':
            if (j->depth == 1) { j->expect_key = 1; j->value_pending = 0; j->current = 0; }
            break;
        default:
            if (j->depth == 0) { j->flags |= MB_JSON_BAD; break; }
            if (j->depth == 1) {
                if (j->value_pending) {
                    j->value_pending = 0;
                    j->in_prim = 1;
                    if (j->current == 1) { j->id_capture = 1; j->id_len = 0; }
                } else if (!j->in_prim) {
                    j->flags |= MB_JSON_BAD; /* a bare word where a key belongs */
                    break;
                }
                if (j->id_capture == 1) id_byte(j, c);
            }
            break;
        }
    }
}

int mb_json_is_answer(const mb_json *j) {
    uint8_t f = j->flags;
    return (f & MB_JSON_DONE) && !(f & MB_JSON_BAD) && !(f & MB_JSON_METHOD) && (f & MB_JSON_ID) &&
           (f & (MB_JSON_RESULT | MB_JSON_ERROR));
}

int mb_json_id_is(const mb_json *j, const char *id, size_t len) {
    return (j->flags & MB_JSON_ID) && j->id_len == len && memcmp(j->id, id, len) == 0;
}

/* ---- Server-sent events ---------------------------------------------------------------------- */

enum { SSE_LINE_START = 0, SSE_FIELD, SSE_DATA_FIRST, SSE_DATA, SSE_SKIP };

void mb_sse_reset(mb_sse *s) {
    memset(s, 0, sizeof *s);
    mb_json_reset(&s->json);
}

size_t mb_sse_feed(mb_sse *s, const char *p, size_t n, int *event) {
    *event = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (s->after_cr) {
            s->after_cr = 0;
            if (c == '\n') continue; /* the LF of a CRLF */
        }
        int eol = (c == '\n' || c == '\r');
        if (c == '\r') s->after_cr = 1;
        switch (s->state) {
        case SSE_LINE_START:
            if (eol) { /* blank line: dispatch */
                if (s->has_data) {
                    s->has_data = 0;
                    *event = 1;
                    return i + 1;
                }
                break;
            }
            if (c == ':') { s->state = SSE_SKIP; break; }
            s->state = SSE_FIELD;
            s->field_len = 0;
            /* fall through */
        case SSE_FIELD:
            if (eol || c == ':') {
                int is_data = s->field_len == 4 && memcmp(s->field, "data", 4) == 0;
                if (!is_data) { s->state = eol ? SSE_LINE_START : SSE_SKIP; break; }
                if (s->has_data) mb_json_feed(&s->json, "\n", 1);
                else mb_json_reset(&s->json);
                s->has_data = 1;
                s->state = eol ? SSE_LINE_START : SSE_DATA_FIRST;
                break;
            }
            if (s->field_len < sizeof s->field) s->field[s->field_len++] = c;
            else s->field_len = sizeof s->field; /* too long: no field we read */
            break;
        case SSE_DATA_FIRST:
            s->state = SSE_DATA;
            if (c == ' ') break; /* one space after the colon is not data */
            /* fall through */
        case SSE_DATA:
            if (eol) { s->state = SSE_LINE_START; break; }
            {
                /* Feed the rest of the line at once. */
                size_t j = i;
                while (j < n && p[j] != '\n' && p[j] != '\r') j++;
                mb_json_feed(&s->json, p + i, j - i);
                i = j - 1;
            }
            break;
        case SSE_SKIP:
            if (eol) s->state = SSE_LINE_START;
            break;
        }
    }
    return n;
}

/* ---- Chunked transfer coding ----------------------------------------------------------------- */

enum { CH_SIZE = 0, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER_START, CH_TRAILER_LINE,
       CH_TRAILER_LF, CH_DONE };

#define MB_TRAILER_MAX (64u * 1024u)

void mb_chunked_reset(mb_chunked *c) { memset(c, 0, sizeof *c); }

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int mb_chunked_feed(mb_chunked *c, const char *p, size_t n, size_t *consumed, const char **data, size_t *data_len) {
    *data = NULL;
    *data_len = 0;
    size_t i = 0;
    while (i < n) {
        char ch = p[i];
        switch (c->state) {
        case CH_SIZE: {
            int v = hex_value(ch);
            if (v >= 0) {
                if (c->digits >= 15) { *consumed = i; return MB_CHUNK_BAD; }
                c->remaining = c->remaining * 16 + (uint64_t)v;
                c->digits++;
                i++;
                break;
            }
            if (c->digits == 0) { *consumed = i; return MB_CHUNK_BAD; }
            if (ch == ';' || ch == ' ' || ch == '\t') { c->state = CH_EXT; i++; break; }
            if (ch == '\r') { c->state = CH_SIZE_LF; i++; break; }
            if (ch != '\n') { *consumed = i; return MB_CHUNK_BAD; }
            i++;
            goto size_done;
        }
        case CH_EXT:
            i++;
            if (ch == '\n') goto size_done;
            break;
        case CH_SIZE_LF:
            if (ch != '\n') { *consumed = i; return MB_CHUNK_BAD; }
            i++;
            goto size_done;
        case CH_DATA: {
            size_t take = n - i;
            if ((uint64_t)take > c->remaining) take = (size_t)c->remaining;
            *data = p + i;
            *data_len = take;
            c->remaining -= take;
            i += take;
            if (c->remaining == 0) c->state = CH_DATA_CR;
            *consumed = i;
            return MB_CHUNK_MORE;
        }
        case CH_DATA_CR:
            if (ch == '\r') { c->state = CH_DATA_LF; i++; break; }
            if (ch == '\n') { c->state = CH_SIZE; c->digits = 0; c->remaining = 0; i++; break; }
            *consumed = i;
            return MB_CHUNK_BAD;
        case CH_DATA_LF:
            if (ch != '\n') { *consumed = i; return MB_CHUNK_BAD; }
            c->state = CH_SIZE;
            c->digits = 0;
            c->remaining = 0;
            i++;
            break;
        case CH_TRAILER_START:
            if (ch == '\r') { c->state = CH_TRAILER_LF; i++; break; }
            if (ch == '\n') { c->state = CH_DONE; i++; *consumed = i; return MB_CHUNK_DONE; }
            c->state = CH_TRAILER_LINE;
            break;
        case CH_TRAILER_LINE:
            if (++c->trailer_bytes > MB_TRAILER_MAX) { *consumed = i; return MB_CHUNK_BAD; }
            i++;
            if (ch == '\n') c->state = CH_TRAILER_START;
            break;
        case CH_TRAILER_LF:
            if (ch != '\n') { *consumed = i; return MB_CHUNK_BAD; }
            c->state = CH_DONE;
            i++;
            *consumed = i;
            return MB_CHUNK_DONE;
        case CH_DONE:
            *consumed = i;
            return MB_CHUNK_DONE;
        }
        continue;
    size_done:
        c->state = c->remaining == 0 ? CH_TRAILER_START : CH_DATA;
    }
    *consumed = i;
    return c->state == CH_DONE ? MB_CHUNK_DONE : MB_CHUNK_MORE;
}

/* ---- Response head --------------------------------------------------------------------------- */

int mb_head_end(const char *buf, size_t len, size_t *end) {
    /* A line feed followed by an optional CR and another line feed. */
    const char *p = buf, *stop = buf + len;
    while ((p = memchr(p, '\n', (size_t)(stop - p))) != NULL) {
        const char *q = p + 1;
        if (q < stop && *q == '\r') q++;
        if (q < stop && *q == '\n') { *end = (size_t)(q + 1 - buf); return 1; }
        p++;
    }
    return 0;
}

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static int name_is(const char *name, size_t len, const char *want) {
    size_t wl = strlen(want);
    if (len != wl) return 0;
    for (size_t i = 0; i < len; i++) if (lower((unsigned char)name[i]) != want[i]) return 0;
    return 1;
}

/* Case-insensitive search for `want` (lower case) in `v[0..<len]`. */
static int value_has(const char *v, size_t len, const char *want) {
    size_t wl = strlen(want);
    for (size_t i = 0; i + wl <= len; i++) {
        size_t k = 0;
        while (k < wl && lower((unsigned char)v[i + k]) == want[k]) k++;
        if (k == wl) return 1;
    }
    return 0;
}

int mb_head_parse(const char *buf, size_t len, mb_head *h) {
    memset(h, 0, sizeof *h);
    const char *p = buf, *end = buf + len;
    /* Status line: HTTP/1.x SSS reason */
    if (len < 12 || memcmp(p, "HTTP/1.", 7) != 0) return -1;
    int minor = p[7] - '0';
    if (minor < 0 || minor > 9 || p[8] != ' ') return -1;
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        status = status * 10 + (p[i] - '0');
    }
    if (status < 100) return -1;
    h->status = status;
    const char *nl = memchr(p, '\n', len);
    if (!nl) return -1;
    p = nl + 1;
    int keep_alive = minor >= 1, chunked = 0, have_length = 0;
    uint64_t length = 0;
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) return -1;
        const char *line_end = nl;
        if (line_end > p && line_end[-1] == '\r') line_end--;
        if (line_end == p) break; /* the blank line */
        const char *colon = memchr(p, ':', (size_t)(line_end - p));
        if (!colon || colon == p) return -1;
        size_t name_len = (size_t)(colon - p);
        const char *v = colon + 1, *ve = line_end;
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        size_t vl = (size_t)(ve - v);
        if (name_is(p, name_len, "content-length")) {
            uint64_t value = 0;
            if (vl == 0 || vl > 15) return -1; /* at most 15 digits: no overflow */
            for (size_t i = 0; i < vl; i++) {
                if (v[i] < '0' || v[i] > '9') return -1;
                value = value * 10 + (uint64_t)(v[i] - '0');
            }
            if (have_length && value != length) return -1;
            have_length = 1;
            length = value;
        } else if (name_is(p, name_len, "transfer-encoding")) {
            if (value_has(v, vl, "chunked")) chunked = 1;
            else return -1; /* a coding we do not decode */
        } else if (name_is(p, name_len, "connection")) {
            if (value_has(v, vl, "close")) h->close = 1;
            if (value_has(v, vl, "keep-alive")) keep_alive = 1;
        } else if (name_is(p, name_len, "content-type")) {
            if (value_has(v, vl, "text/event-stream")) h->sse = 1;
        } else if (name_is(p, name_len, "mcp-session-id")) {
            int ok = vl >= 1 && vl < sizeof h->session_id;
            for (size_t i = 0; ok && i < vl; i++) ok = v[i] > 0x20 && v[i] < 0x7f;
            if (ok) {
                memcpy(h->session_id, v, vl);
                h->session_id[vl] = 0;
                h->session_id_len = (int)vl;
            } else {
                h->session_id_bad = 1;
            }
        }
        p = nl + 1;
    }
    if (!keep_alive) h->close = 1;
    if ((status >= 100 && status < 200) || status == 204 || status == 304) {
        h->body = MB_BODY_NONE;
    } else if (chunked) {
        h->body = MB_BODY_CHUNKED;
    } else if (have_length) {
        h->body = length == 0 ? MB_BODY_NONE : MB_BODY_LENGTH;
        h->length = length;
    } else {
        h->body = MB_BODY_UNTIL_CLOSE;
        h->close = 1;
    }
    return 0;
}
