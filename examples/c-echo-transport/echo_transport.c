/*
 * c-echo: a transport plugin for mcp-host written in plain C against mcph_plugin.h alone.
 *
 * It proves the ABI is language-neutral: no Swift, no host symbols, just the header. Instead of
 * talking to a remote process, each connection *is* a tiny MCP server living in a worker thread:
 * it answers initialize, tools/list and tools/call for one tool, `echo`, which returns the call's
 * arguments as structuredContent.
 *
 * It also checks the host keeps the header's promises, and aborts with a message on stderr when
 * it does not: the host must never call send/close from inside one of this plugin's callbacks
 * (re-entrance), and never run open/destroy of this plugin concurrently ("control thread").
 *
 * Build:  cc -std=c11 -shared -fPIC -O2 -pthread -I Sources/PluginAPI/include \
 *            -o plugins.d/libc-echo.so examples/c-echo-transport/echo_transport.c
 * Config: {"mcpServers": {"cecho": {"transport": "c-echo"}}}
 * Optional knobs (integers), used by the tests:
 *   "queue_limit": messages queued before send answers MCPH_E_AGAIN (default 1024); a WRITABLE
 *                  event follows once the queue has room again;
 *   "delay_ms":    time the worker spends on each message (default 0), to make back-pressure;
 *   "ping":        1 = before answering tools/call, send the host a `ping` request (the host
 *                  must answer without re-entering the plugin); the answer's text then counts
 *                  the pongs received so far ("echoed by NAME (pongs: N)");
 *   "open_delay_ms": time open takes (default 0), to widen the window for overlapping opens.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream, nanosleep */
#include "mcph_plugin.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- A minimal JSON member finder (enough for JSON-RPC envelopes) ----------------------------- */

static size_t skip_ws(const char *s, size_t n, size_t i) {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i;
}

/* Index just past the value starting at i, or n on malformed input. */
static size_t skip_value(const char *s, size_t n, size_t i) {
    if (i >= n) return n;
    if (s[i] == '"') {
        for (i++; i < n; i++) {
            if (s[i] == '\\') { i++; continue; }
            if (s[i] == '"') return i + 1;
        }
        return n;
    }
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        for (; i < n; i++) {
            if (s[i] == '"') { i = skip_value(s, n, i) - 1; continue; }
            if (s[i] == '{' || s[i] == '[') depth++;
            if (s[i] == '}' || s[i] == ']') { if (--depth == 0) return i + 1; }
        }
        return n;
    }
    while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n') i++;
    return i;
}

/* Finds member `key` of the object at [start, end); sets its value range. Returns 1 if found. */
static int find_member(const char *s, size_t start, size_t end, const char *key, size_t *vstart, size_t *vend) {
    size_t i = skip_ws(s, end, start);
    if (i >= end || s[i] != '{') return 0;
    i++;
    size_t klen = strlen(key);
    while (1) {
        i = skip_ws(s, end, i);
        if (i >= end || s[i] != '"') return 0;
        size_t kend = skip_value(s, end, i);
        int match = (kend - i - 2 == klen) && memcmp(s + i + 1, key, klen) == 0;
        i = skip_ws(s, end, kend);
        if (i >= end || s[i] != ':') return 0;
        i = skip_ws(s, end, i + 1);
        size_t v = skip_value(s, end, i);
        if (match) { *vstart = i; *vend = v; return 1; }
        i = skip_ws(s, end, v);
        if (i >= end || s[i] != ',') return 0;
        i++;
    }
}

/* An integer member of the config object, or `fallback`. */
static long config_int(const char *config, size_t len, const char *key, long fallback) {
    size_t vs, ve;
    if (!find_member(config, 0, len, key, &vs, &ve) || ve <= vs) return fallback;
    char digits[32];
    snprintf(digits, sizeof digits, "%.*s", (int)(ve - vs), config + vs);
    char *end = NULL;
    long value = strtol(digits, &end, 10);
    return end && end != digits ? value : fallback;
}

static void sleep_ms(long ms) {
    if (ms <= 0) return;
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0) {}
}

/* ---- Plugin and connection state ---------------------------------------------------------------- */

typedef struct message { char *bytes; size_t len; struct message *next; } message;

typedef struct connection {
    mcph_conn_callbacks cb;          /* copied at open */
    pthread_t worker;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    message *head, *tail;            /* guarded by lock */
    int queued;                      /* guarded by lock */
    int closing;                     /* guarded by lock */
    int owe_writable;                /* guarded by lock: send answered E_AGAIN, WRITABLE is owed */
    int queue_limit, delay_ms, ping; /* knobs, fixed at open */
    atomic_int pongs;                /* answers to our pings received */
    atomic_int pings;                /* pings sent */
    char name[64];
} connection;

static const mcph_host *g_host;

/* The connection whose callback this thread is running, if any (re-entrance check). */
static _Thread_local connection *t_in_callback;
/* open/destroy calls running right now (the host promises at most one). */
static atomic_int g_control_calls;

static void fail_contract(const char *what) {
    fprintf(stderr, "c-echo: ABI contract broken by the host: %s\n", what);
    fflush(stderr);
    abort();
}

static void control_enter(const char *what) {
    if (atomic_fetch_add(&g_control_calls, 1) != 0) fail_contract(what);
}

static void control_leave(void) { atomic_fetch_sub(&g_control_calls, 1); }

static void call_on_message(connection *c, mcph_bytes b) {
    t_in_callback = c;
    c->cb.on_message(c->cb.ctx, b);
    t_in_callback = NULL;
}

static void call_on_event(connection *c, mcph_conn_event event, int32_t code, const char *detail, size_t len) {
    connection *outer = t_in_callback; /* OPENED is sent from inside open */
    t_in_callback = c;
    c->cb.on_event(c->cb.ctx, event, code, detail, len);
    t_in_callback = outer;
}

static void host_log(mcph_log_level level, const char *text) {
    if (g_host && g_host->log) g_host->log(g_host->ctx, level, text, strlen(text));
}

static void emit(connection *c, const char *json) {
    mcph_bytes b = {(const uint8_t *)json, strlen(json), NULL, NULL}; /* borrowed for the call */
    call_on_message(c, b);
}

/* Answers one request from the host; runs on the connection's worker thread. */
static void handle(connection *c, const char *m, size_t n) {
    size_t ms, me, is, ie, ps, pe;
    if (!find_member(m, 0, n, "method", &ms, &me)) {                 /* a response: maybe a pong */
        if (find_member(m, 0, n, "id", &is, &ie) && ie - is > 13 && memcmp(m + is, "\"c-echo-ping-", 13) == 0 &&
            find_member(m, 0, n, "result", &ps, &pe))
            atomic_fetch_add(&c->pongs, 1);
        return;
    }
    if (!find_member(m, 0, n, "id", &is, &ie)) return;              /* a notification: ignore it */
    char id[64];
    snprintf(id, sizeof id, "%.*s", (int)(ie - is), m + is);
    char *out = NULL;
    size_t cap = 0;
    FILE *f = open_memstream(&out, &cap);
    if (!f) return;
    if (me - ms == 12 && memcmp(m + ms, "\"initialize\"", 12) == 0) {
        fprintf(f, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"tools\":{}},"
                   "\"serverInfo\":{\"name\":\"c-echo\",\"version\":\"1.0.0\"}}}", id);
    } else if (me - ms == 12 && memcmp(m + ms, "\"tools/list\"", 12) == 0) {
        fprintf(f, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"tools\":[{\"name\":\"echo\",\"description\":\"Returns its arguments "
                   "(from a plugin written in C)\",\"inputSchema\":{\"type\":\"object\"}}]}}", id);
    } else if (me - ms == 12 && memcmp(m + ms, "\"tools/call\"", 12) == 0 && find_member(m, 0, n, "params", &ps, &pe)) {
        size_t as, ae;
        const char *args = "{}";
        int alen = 2;
        if (find_member(m, ps, pe, "arguments", &as, &ae)) { args = m + as; alen = (int)(ae - as); }
        char suffix[48] = "";
        if (c->ping) {
            /* As a backend may: ask the host something while its request is in flight. */
            char ping[80];
            snprintf(ping, sizeof ping, "{\"jsonrpc\":\"2.0\",\"id\":\"c-echo-ping-%d\",\"method\":\"ping\"}", atomic_fetch_add(&c->pings, 1));
            emit(c, ping);
            snprintf(suffix, sizeof suffix, " (pongs: %d)", atomic_load(&c->pongs));
        }
        fprintf(f, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"echoed by %s%s\"}],"
                   "\"structuredContent\":%.*s}}", id, c->name, suffix, alen, args);
    } else if (me - ms == 6 && memcmp(m + ms, "\"ping\"", 6) == 0) {
        fprintf(f, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{}}", id);
    } else {
        fprintf(f, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-32601,\"message\":\"Method not found\"}}", id);
    }
    fclose(f);
    emit(c, out);
    free(out);
}

static void *worker_main(void *arg) {
    connection *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->lock);
        while (!c->head && !c->closing) pthread_cond_wait(&c->wake, &c->lock);
        message *m = c->head;
        int writable = 0;
        if (m) {
            c->head = m->next;
            if (!c->head) c->tail = NULL;
            c->queued--;
            if (c->owe_writable && c->queued < c->queue_limit) { c->owe_writable = 0; writable = 1; }
        }
        int closing = c->closing;
        pthread_mutex_unlock(&c->lock);
        if (!m && closing) break;
        if (writable) call_on_event(c, MCPH_EVENT_WRITABLE, 0, NULL, 0); /* owed after E_AGAIN */
        sleep_ms(c->delay_ms);
        handle(c, m->bytes, m->len);
        free(m->bytes);
        free(m);
    }
    call_on_event(c, MCPH_EVENT_CLOSED, 0, "closed", 6); /* exactly one terminal event */
    return NULL;
}

/* ---- The transport table -------------------------------------------------------------------------- */

static mcph_status t_open(void *state, const char *config, size_t config_len, const mcph_conn_callbacks *cb,
                          void **out, char *err, size_t err_cap) {
    (void)state;
    /* Growable struct: accept the 1.0 size and up; copy no more than the host declared. */
    if (!cb || cb->struct_size < MCPH_CONN_CALLBACKS_SIZE_1_0) {
        snprintf(err, err_cap, "c-echo: callbacks table smaller than ABI 1.0's");
        return MCPH_E_INVALID;
    }
    if (t_in_callback) fail_contract("open called from inside a callback");
    control_enter("open ran while another open or destroy of this plugin was running");
    sleep_ms(config_int(config, config_len, "open_delay_ms", 0));
    connection *c = calloc(1, sizeof *c);
    if (!c) { snprintf(err, err_cap, "c-echo: out of memory"); control_leave(); return MCPH_E_FAILED; }
    mcph_struct_copy(&c->cb, sizeof c->cb, cb, cb->struct_size);
    c->queue_limit = (int)config_int(config, config_len, "queue_limit", 1024);
    if (c->queue_limit < 1) c->queue_limit = 1;
    c->delay_ms = (int)config_int(config, config_len, "delay_ms", 0);
    c->ping = config_int(config, config_len, "ping", 0) != 0;
    size_t ns, ne;
    if (find_member(config, 0, config_len, "name", &ns, &ne) && ne - ns >= 2)
        snprintf(c->name, sizeof c->name, "%.*s", (int)(ne - ns - 2), config + ns + 1);
    else
        snprintf(c->name, sizeof c->name, "c-echo");
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    call_on_event(c, MCPH_EVENT_OPENED, 0, NULL, 0); /* may come before open returns */
    if (pthread_create(&c->worker, NULL, worker_main, c) != 0) {
        snprintf(err, err_cap, "c-echo: cannot start a thread");
        free(c);
        control_leave();
        return MCPH_E_FAILED;
    }
    *out = c;
    control_leave();
    return MCPH_OK;
}

static mcph_status t_send(void *conn, mcph_bytes msg) {
    connection *c = conn;
    mcph_status status = MCPH_OK;
    if (t_in_callback) fail_contract("send called from inside one of the plugin's callbacks");
    pthread_mutex_lock(&c->lock);
    if (c->closing) status = MCPH_E_CLOSED;
    else if (c->queued >= c->queue_limit) { status = MCPH_E_AGAIN; c->owe_writable = 1; }
    else {
        message *m = malloc(sizeof *m);
        m->bytes = malloc(msg.len ? msg.len : 1);
        memcpy(m->bytes, msg.ptr, msg.len); /* borrowed bytes: copy before returning */
        m->len = msg.len;
        m->next = NULL;
        if (c->tail) c->tail->next = m; else c->head = m;
        c->tail = m;
        c->queued++;
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->lock);
    if (msg.release) msg.release(msg.release_ctx, msg.ptr, msg.len); /* send always consumes */
    return status;
}

static mcph_status t_close(void *conn, uint32_t grace_ms) {
    (void)grace_ms;
    connection *c = conn;
    if (t_in_callback) fail_contract("close called from inside one of the plugin's callbacks");
    pthread_mutex_lock(&c->lock);
    c->closing = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    return MCPH_OK;
}

static void t_destroy(void *conn) {
    connection *c = conn;
    if (t_in_callback) fail_contract("destroy called from inside a callback");
    control_enter("destroy ran while another open or destroy of this plugin was running");
    pthread_mutex_lock(&c->lock);
    c->closing = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->worker, NULL); /* after this, no callback can run */
    while (c->head) { message *m = c->head; c->head = m->next; free(m->bytes); free(m); }
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake);
    free(c);
    control_leave();
}

static const mcph_transport_v1 transport = {
    sizeof(mcph_transport_v1), "c-echo", t_open, t_send, t_close, t_destroy,
};

/* ---- Descriptor and entry point ---------------------------------------------------------------- */

static mcph_status p_init(const mcph_host *host, void **state, char *err, size_t err_cap) {
    (void)err; (void)err_cap;
    g_host = host;
    *state = NULL;
    host_log(MCPH_LOG_DEBUG, "c-echo plugin initialised");
    return MCPH_OK;
}

static const void *p_get_interface(void *state, const char *id) {
    (void)state;
    return strcmp(id, MCPH_IFACE_TRANSPORT_V1) == 0 ? &transport : NULL;
}

static const mcph_plugin_descriptor descriptor = {
    sizeof(mcph_plugin_descriptor), MCPH_ABI_MAJOR, MCPH_ABI_MINOR,
    "example.c-echo", "C echo transport", "1.0.0", "An in-process MCP server, written in C",
    MCPH_KIND_TRANSPORT, p_init, p_get_interface, NULL,
};

MCPH_EXPORT const mcph_plugin_descriptor *mcph_plugin_entry_v1(void) { return &descriptor; }
