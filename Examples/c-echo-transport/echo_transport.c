/*
 * c-echo: a transport plugin for mcp-host written in plain C against mcph_plugin.h alone.
 *
 * It proves the ABI is language-neutral: no Swift, no host symbols, just the header. Instead of
 * talking to a remote process, each connection *is* a tiny MCP server living in a worker thread:
 * it answers initialize, tools/list and tools/call for one tool, `echo`, which returns the call's
 * arguments as structuredContent.
 *
 * Build:  cc -std=c11 -shared -fPIC -O2 -pthread -I Sources/PluginAPI/include \
 *            -o plugins.d/libc-echo.so Examples/c-echo-transport/echo_transport.c
 * Config: {"mcpServers": {"cecho": {"transport": "c-echo"}}}
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include "mcph_plugin.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- Plugin and connection state ---------------------------------------------------------------- */

#define QUEUE_LIMIT 1024

typedef struct message { char *bytes; size_t len; struct message *next; } message;

typedef struct connection {
    mcph_conn_callbacks cb;          /* copied at open */
    pthread_t worker;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    message *head, *tail;            /* guarded by lock */
    int queued;                      /* guarded by lock */
    int closing;                     /* guarded by lock */
    char name[64];
} connection;

static const mcph_host *g_host;

static void host_log(mcph_log_level level, const char *text) {
    if (g_host && g_host->log) g_host->log(g_host->ctx, level, text, strlen(text));
}

static void emit(connection *c, const char *json) {
    mcph_bytes b = {(const uint8_t *)json, strlen(json), NULL, NULL}; /* borrowed for the call */
    c->cb.on_message(c->cb.ctx, b);
}

/* Answers one request from the host; runs on the connection's worker thread. */
static void handle(connection *c, const char *m, size_t n) {
    size_t ms, me, is, ie, ps, pe;
    if (!find_member(m, 0, n, "method", &ms, &me)) return;          /* a response: nothing to do */
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
        fprintf(f, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"echoed by %s\"}],"
                   "\"structuredContent\":%.*s}}", id, c->name, alen, args);
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
        if (m) {
            c->head = m->next;
            if (!c->head) c->tail = NULL;
            c->queued--;
        }
        int closing = c->closing;
        pthread_mutex_unlock(&c->lock);
        if (!m && closing) break;
        handle(c, m->bytes, m->len);
        free(m->bytes);
        free(m);
    }
    c->cb.on_event(c->cb.ctx, MCPH_EVENT_CLOSED, 0, "closed", 6); /* exactly one terminal event */
    return NULL;
}

/* ---- The transport table -------------------------------------------------------------------------- */

static mcph_status t_open(void *state, const char *config, size_t config_len, const mcph_conn_callbacks *cb,
                          void **out, char *err, size_t err_cap) {
    (void)state;
    if (!cb || cb->struct_size < sizeof(mcph_conn_callbacks)) {
        snprintf(err, err_cap, "c-echo: callbacks table too small");
        return MCPH_E_INVALID;
    }
    connection *c = calloc(1, sizeof *c);
    if (!c) { snprintf(err, err_cap, "c-echo: out of memory"); return MCPH_E_FAILED; }
    c->cb = *cb;
    size_t ns, ne;
    if (find_member(config, 0, config_len, "name", &ns, &ne) && ne - ns >= 2)
        snprintf(c->name, sizeof c->name, "%.*s", (int)(ne - ns - 2), config + ns + 1);
    else
        snprintf(c->name, sizeof c->name, "c-echo");
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    c->cb.on_event(c->cb.ctx, MCPH_EVENT_OPENED, 0, NULL, 0); /* may come before open returns */
    if (pthread_create(&c->worker, NULL, worker_main, c) != 0) {
        snprintf(err, err_cap, "c-echo: cannot start a thread");
        free(c);
        return MCPH_E_FAILED;
    }
    *out = c;
    return MCPH_OK;
}

static mcph_status t_send(void *conn, mcph_bytes msg) {
    connection *c = conn;
    mcph_status status = MCPH_OK;
    pthread_mutex_lock(&c->lock);
    if (c->closing) status = MCPH_E_CLOSED;
    else if (c->queued >= QUEUE_LIMIT) status = MCPH_E_AGAIN;
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
    pthread_mutex_lock(&c->lock);
    c->closing = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    return MCPH_OK;
}

static void t_destroy(void *conn) {
    connection *c = conn;
    t_close(c, 0);
    pthread_join(c->worker, NULL); /* after this, no callback can run */
    while (c->head) { message *m = c->head; c->head = m->next; free(m->bytes); free(m); }
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake);
    free(c);
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
