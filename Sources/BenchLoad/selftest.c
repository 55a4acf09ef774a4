/*
 * `mcp-bench-load --self-test`: checks of the pure readers (wire.h) and the histogram, fed at
 * every split point of their input, so the parsers are tested without a process or socket.
 * Prints failures and a count on stderr; returns the number of failures.
 */
#include "selftest.h"

#include <stdio.h>
#include <string.h>

#include "histogram.h"
#include "wire.h"

static int checks, failures;

#define CHECK(cond, ...)                                                               \
    do {                                                                               \
        checks++;                                                                      \
        if (!(cond)) {                                                                 \
            failures++;                                                                \
            fprintf(stderr, "self-test: FAILED %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                              \
            fputc('\n', stderr);                                                       \
        }                                                                              \
    } while (0)

/* Decodes `in` split at `split` (and at every byte when split is 0); the data into `out`. */
static int decode_chunked(const char *in, size_t len, size_t split, char *out, size_t cap, size_t *out_len, size_t *used) {
    mb_chunked c;
    mb_chunked_reset(&c);
    *out_len = 0;
    size_t off = 0;
    while (off < len) {
        size_t piece_end = split ? (off < split ? split : len) : off + 1;
        if (piece_end > len) piece_end = len;
        size_t p = off;
        while (p < piece_end) {
            size_t consumed = 0, dlen = 0;
            const char *data = NULL;
            int r = mb_chunked_feed(&c, in + p, piece_end - p, &consumed, &data, &dlen);
            if (dlen) {
                if (*out_len + dlen > cap) return MB_CHUNK_BAD;
                memcpy(out + *out_len, data, dlen);
                *out_len += dlen;
            }
            p += consumed;
            if (r != MB_CHUNK_MORE) { *used = p; return r; }
            if (consumed == 0) break;
        }
        off = piece_end;
    }
    *used = off;
    return MB_CHUNK_MORE;
}

static void test_chunked(void) {
    static const char body[] = "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nNEXT";
    size_t len = sizeof body - 1 - 4; /* NEXT is not the body's */
    for (size_t split = 0; split < len; split++) {
        char out[64];
        size_t out_len = 0, used = 0;
        int r = decode_chunked(body, sizeof body - 1, split, out, sizeof out, &out_len, &used);
        CHECK(r == MB_CHUNK_DONE, "split %zu: result %d", split, r);
        CHECK(out_len == 16 && memcmp(out, "hello 0123456789", 16) == 0, "split %zu: data '%.*s'", split, (int)out_len, out);
        CHECK(used == len, "split %zu: consumed %zu of %zu", split, used, len);
    }
    static const char *bad[] = {"zz\r\n", "5\r\nhelloXX", "1234567890abcdef0\r\n", "\r\n", "5\rX"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char out[64];
        size_t out_len, used;
        int r = decode_chunked(bad[i], strlen(bad[i]), 0, out, sizeof out, &out_len, &used);
        CHECK(r == MB_CHUNK_BAD, "'%s' is malformed, got %d", bad[i], r);
    }
    /* A bare-LF chunked body is accepted. */
    char out[64];
    size_t out_len, used;
    CHECK(decode_chunked("2\nhi\n0\n\n", 9, 0, out, sizeof out, &out_len, &used) == MB_CHUNK_DONE && out_len == 2, "bare LF");
}

static void test_json(void) {
    struct { const char *text; int answer, error, id_is_7; } cases[] = {
        {"{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"id\":8,\"error\":1}}", 1, 0, 1},
        {" {\"id\" : 7 , \"error\":{\"code\":-1}}\n", 1, 1, 1},
        {"{\"id\":\"7\",\"result\":null}", 1, 0, 0},
        {"{\"id\":70,\"result\":true}", 1, 0, 0},
        {"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"x\",\"result\":1}", 0, 0, 1},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"id\":7}}", 0, 0, 0},
        {"{\"id\":7,\"result\":{}", 0, 0, 1},
        {"{\"id\":7,\"result\":{}} x", 0, 0, 1},
        {"[{\"id\":7,\"result\":{}}]", 0, 0, 0},
        {"{{{{{", 0, 0, 0},
        {"hello", 0, 0, 0},
        {"{\"text\":\"a\\\"}\",\"id\":7,\"result\":\"\\\\\"}", 1, 0, 1},
        {"{\"averyveryverylongkey\":1,\"id\":7,\"result\":[1,{\"a\":[]}]}", 1, 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len = strlen(cases[i].text);
        for (size_t split = 0; split <= len; split++) {
            mb_json j;
            mb_json_reset(&j);
            mb_json_feed(&j, cases[i].text, split);
            mb_json_feed(&j, cases[i].text + split, len - split);
            CHECK(mb_json_is_answer(&j) == cases[i].answer, "case %zu split %zu: answer", i, split);
            if (cases[i].answer) CHECK(!!(j.flags & MB_JSON_ERROR) == cases[i].error, "case %zu split %zu: error", i, split);
            CHECK(mb_json_id_is(&j, "7", 1) == cases[i].id_is_7, "case %zu split %zu: id", i, split);
        }
    }
}

static void test_sse(void) {
    static const char stream[] =
        "event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\r\n\r\n"
        ": ping\n\n"
        "id: 3\rdata: {\"jsonrpc\":\"2.0\",\r"
        "data:\"id\":7,\"result\":{}}\r\r"
        "data: {\"id\":8,\"error\":{}}\n\n";
    size_t len = sizeof stream - 1;
    for (size_t split = 0; split <= len; split++) {
        mb_sse s;
        mb_sse_reset(&s);
        int events = 0, answers = 0, answer7 = 0, error8 = 0;
        const char *pieces[2] = {stream, stream + split};
        size_t lens[2] = {split, len - split};
        for (int k = 0; k < 2; k++) {
            const char *p = pieces[k];
            size_t n = lens[k];
            while (n > 0) {
                int ev = 0;
                size_t used = mb_sse_feed(&s, p, n, &ev);
                p += used;
                n -= used;
                if (ev) {
                    events++;
                    if (mb_json_is_answer(&s.json)) {
                        answers++;
                        if (mb_json_id_is(&s.json, "7", 1) && !(s.json.flags & MB_JSON_ERROR)) answer7++;
                        if (mb_json_id_is(&s.json, "8", 1) && (s.json.flags & MB_JSON_ERROR)) error8++;
                    }
                }
            }
        }
        CHECK(events == 3 && answers == 2 && answer7 == 1 && error8 == 1, "split %zu: events %d answers %d", split, events, answers);
    }
}

static void test_head(void) {
    static const char h1[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
                             "mcp-session-id: abc123\r\n\r\nBODY";
    size_t end = 0;
    CHECK(mb_head_end(h1, sizeof h1 - 1, &end) && end == sizeof h1 - 1 - 4, "head end %zu", end);
    mb_head h;
    CHECK(mb_head_parse(h1, end, &h) == 0, "parses");
    CHECK(h.status == 200 && h.body == MB_BODY_CHUNKED && h.sse && !h.close, "fields");
    CHECK(h.session_id_len == 6 && strcmp(h.session_id, "abc123") == 0, "session id '%s'", h.session_id);
    static const char h2[] = "HTTP/1.0 404 Not Found\nContent-Length: 12\n\n";
    CHECK(mb_head_end(h2, sizeof h2 - 1, &end) && mb_head_parse(h2, end, &h) == 0, "bare LF head");
    CHECK(h.status == 404 && h.body == MB_BODY_LENGTH && h.length == 12 && h.close, "HTTP/1.0 closes");
    static const char h3[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n";
    CHECK(mb_head_end(h3, sizeof h3 - 1, &end) && mb_head_parse(h3, end, &h) == -1, "conflicting lengths refused");
    static const char h4[] = "HTTP/1.1 200 OK\r\nMcp-Session-Id: a b\r\n\r\n";
    CHECK(mb_head_end(h4, sizeof h4 - 1, &end) && mb_head_parse(h4, end, &h) == 0 && h.session_id_bad && !h.session_id_len &&
          h.body == MB_BODY_UNTIL_CLOSE, "unusable session id");
    static const char *bad[] = {"HTTP/2 200\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
                                "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999\r\n\r\n",
                                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t e = strlen(bad[i]);
        CHECK(mb_head_parse(bad[i], e, &h) == -1, "'%s' refused", bad[i]);
    }
    CHECK(!mb_head_end("HTTP/1.1 200 OK\r\nA: b\r\n", 24, &end), "incomplete head");
    static const char h5[] = "HTTP/1.1 204 No Content\r\n\r\n";
    CHECK(mb_head_parse(h5, sizeof h5 - 1, &h) == 0 && h.body == MB_BODY_NONE, "204 has no body");
}

static void test_histogram(void) {
    /* Every value's bucket midpoint is within 0.4% of it (1 µs .. 60 s), and indexes are in range. */
    for (uint64_t v = 1000; v <= MB_HIST_CLAMP_NS; v += v / 97 + 1) {
        uint32_t i = mb_hist_index(v);
        uint64_t low, high;
        mb_hist_range(i, &low, &high);
        double mid = ((double)low + (double)(high - 1)) / 2, err = (mid - (double)v) / (double)v;
        if (err < 0) err = -err;
        if (i >= MB_HIST_BUCKETS || v < low || v >= high || err > 0.004) {
            CHECK(0, "value %llu: bucket %u [%llu, %llu) error %.5f", (unsigned long long)v, i, (unsigned long long)low,
                  (unsigned long long)high, err);
            break;
        }
    }
    CHECK(mb_hist_index(UINT64_MAX) < MB_HIST_BUCKETS, "huge values are clamped");
    static mb_hist h;
    mb_hist_reset(&h);
    CHECK(mb_hist_quantile(&h, 0.5) == 0, "empty");
    for (uint64_t v = 1; v <= 1000; v++) mb_hist_record(&h, v * 1000); /* 1 .. 1000 µs */
    double p50 = mb_hist_quantile(&h, 0.5), p99 = mb_hist_quantile(&h, 0.99), p100 = mb_hist_quantile(&h, 1);
    CHECK(p50 > 495000 && p50 < 505000, "p50 %.0f", p50);
    CHECK(p99 > 985000 && p99 < 995000, "p99 %.0f", p99);
    CHECK(p100 <= 1000000 && h.max_ns == 1000000, "max");
}

int mb_self_test(void) {
    checks = failures = 0;
    test_chunked();
    test_json();
    test_sse();
    test_head();
    test_histogram();
    fprintf(stderr, "self-test: %d checks, %d failed\n", checks, failures);
    return failures;
}
