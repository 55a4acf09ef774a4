/*
 * mcp-bench-echo: the fastest MCP server we can write, for measuring mcp-host's own overhead.
 * Stdio, one JSON-RPC message per line; answers initialize, tools/list (two tools, "echo" and
 * "slow") and tools/call. Not a general server: it finds "id", "method", "name" and "ms" by plain
 * text search, which is enough for the benchmark's own compact requests.
 *
 * - echo: answers at once with a fixed result, echoing the request's id.
 * - slow: answers after `arguments.ms` milliseconds (0 to 3,600,000; default 0) WITHOUT holding up
 *   any other call: the answer waits in a timer heap that the poll loop serves, so echo calls keep
 *   flowing while slow ones are pending.
 *
 * Fast path: while no slow call is pending the loop is a plain blocking read(); answers are
 * buffered and written once per read, so pipelined requests share writes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Input buffer: a line longer than this is dropped (read and discarded up to its newline). */
#define INPUT_CAP (1u << 20)
/* Pending slow calls: at the bound a further slow call is answered at once with an error. */
#define TIMER_CAP 65536
#define ID_CAP 64

static int field(const char *line, const char *key, char *out, size_t cap) {
    const char *at = strstr(line, key);
    if (!at) return 0;
    at += strlen(key);
    while (*at == ' ' || *at == ':') at++;
    size_t n = 0;
    if (*at == '"') {
        out[n++] = *at++;
        while (*at && *at != '"' && n + 2 < cap) out[n++] = *at++;
        if (*at == '"') out[n++] = '"';
    } else {
        while (*at && *at != ',' && *at != '}' && n + 1 < cap) out[n++] = *at++;
    }
    out[n] = 0;
    return n > 0;
}

/* ---- timers: a binary min-heap on the due time (monotonic nanoseconds) ---- */

struct timer { uint64_t due; long ms; char id[ID_CAP]; };
static struct timer *heap;
static size_t heap_count;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void heap_push(struct timer t) {
    size_t i = heap_count++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (heap[parent].due <= t.due) break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = t;
}

static struct timer heap_pop(void) {
    struct timer top = heap[0], last = heap[--heap_count];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= heap_count) break;
        if (child + 1 < heap_count && heap[child + 1].due < heap[child].due) child++;
        if (last.due <= heap[child].due) break;
        heap[i] = heap[child];
        i = child;
    }
    if (heap_count > 0) heap[i] = last;
    return top;
}

static void fire_due_timers(void) {
    if (heap_count == 0) return;
    uint64_t now = now_ns();
    while (heap_count > 0 && heap[0].due <= now) {
        struct timer t = heap_pop();
        printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"slept %ld ms\"}],\"isError\":false}}\n", t.id, t.ms);
    }
}

/* ---- requests ---- */

static void handle_call(const char *line, const char *id) {
    char name[64] = "", ms_text[32] = "";
    const char *params = strstr(line, "\"params\"");
    if (params) field(params, "\"name\"", name, sizeof name);
    if (strcmp(name, "\"slow\"") != 0) {
        printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"hello, benchmark\"}],\"isError\":false}}\n", id);
        return;
    }
    long ms = 0;
    const char *arguments = strstr(params, "\"arguments\"");
    if (arguments && field(arguments, "\"ms\"", ms_text, sizeof ms_text)) {
        char *end = NULL;
        ms = strtol(ms_text, &end, 10);
        if (end == ms_text || ms < 0 || ms > 3600000) ms = -1;
    }
    if (ms < 0) {
        printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-32602,\"message\":\"slow: arguments.ms must be an integer from 0 to 3600000\"}}\n", id);
        return;
    }
    if (heap_count >= TIMER_CAP) {
        printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-32000,\"message\":\"slow: more than %d calls pending\"}}\n", id, TIMER_CAP);
        return;
    }
    struct timer t;
    t.due = now_ns() + (uint64_t)ms * 1000000u;
    t.ms = ms;
    snprintf(t.id, sizeof t.id, "%s", id);
    heap_push(t);
}

static void handle_line(const char *line) {
    char id[ID_CAP], method[64];
    if (!field(line, "\"method\"", method, sizeof method)) return;
    if (!field(line, "\"id\"", id, sizeof id)) return; /* notifications need no answer */
    if (strcmp(method, "\"tools/call\"") == 0)
        handle_call(line, id);
    else if (strcmp(method, "\"initialize\"") == 0)
        printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"mcp-bench-echo\",\"version\":\"1\"}}}\n", id);
    else if (strcmp(method, "\"tools/list\"") == 0)
        printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"tools\":[{\"name\":\"echo\",\"inputSchema\":{\"type\":\"object\"}},"
               "{\"name\":\"slow\",\"description\":\"Answers after arguments.ms milliseconds.\",\"inputSchema\":{\"type\":\"object\",\"properties\":{\"ms\":{\"type\":\"integer\"}}}}]}}\n", id);
    else
        printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-32601,\"message\":\"Method not found\"}}\n", id);
}

int main(void) {
    static char input[INPUT_CAP + 1];
    size_t length = 0;
    int discarding = 0; /* inside a line longer than INPUT_CAP */
    heap = malloc(sizeof *heap * TIMER_CAP);
    if (!heap) return 1;
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    for (;;) {
        if (heap_count > 0) {
            uint64_t now = now_ns();
            int timeout = 0;
            if (heap[0].due > now) {
                uint64_t wait = (heap[0].due - now + 999999u) / 1000000u;
                timeout = wait > INT_MAX ? INT_MAX : (int)wait;
            }
            struct pollfd in = { .fd = 0, .events = POLLIN };
            int ready = poll(&in, 1, timeout);
            if (ready < 0 && errno != EINTR) break;
            if (ready <= 0) {
                fire_due_timers();
                fflush(stdout);
                continue;
            }
        }
        ssize_t got = read(0, input + length, INPUT_CAP - length);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (got <= 0) break;
        length += (size_t)got;
        size_t start = 0;
        for (size_t i = length - (size_t)got; i < length; i++) {
            if (input[i] != '\n') continue;
            input[i] = 0;
            if (!discarding) handle_line(input + start);
            discarding = 0;
            start = i + 1;
        }
        if (start > 0) {
            memmove(input, input + start, length - start);
            length -= start;
        } else if (length == INPUT_CAP) {
            length = 0; /* a line longer than the buffer: drop it up to its newline */
            discarding = 1;
        }
        fire_due_timers();
        fflush(stdout);
    }
    fflush(stdout);
    free(heap);
    return 0;
}
