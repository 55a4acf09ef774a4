/*
 * A plugin frozen at ABI 1.0: built by the tests against the 1.0 header next to this file (a copy
 * of mcph_plugin.h as it was at 1.0, never to be edited), then loaded into the current host. It
 * must keep loading and working whatever the header grows into within major 1.
 *
 * DO NOT EDIT either file: they stand for a binary a third party built years ago.
 *
 * One library, both kinds:
 *  - transport "fixture10": each connection is a tiny in-process MCP server (worker thread) with
 *    two tools, `echo` (returns its arguments as structuredContent) and `hidden`;
 *  - router (id below): exposes tools as SERVER__NAME, hides any item named "hidden" with the 1.0
 *    value of MCPH_EXPOSE_HIDE (1), and routes SERVER__NAME back.
 * deinit appends "deinit <id>\n" to the file named by $MCPH_FIXTURE_DEINIT_FILE, if set.
 *
 * Build:  cc -std=c11 -shared -fPIC -pthread -I Tests/Fixtures/abi-1.0 -o fx.so fixture_plugin.c
 *         (-DFIXTURE_ID='"other.id"' gives a second copy another plugin id.)
 */
#define _POSIX_C_SOURCE 200809L
#include "mcph_plugin.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FIXTURE_ID
#define FIXTURE_ID "fixture.abi10"
#endif

/* ---- JSON: just enough to find "method", "id" and params.arguments ---------------------------- */

static size_t skip_ws(const char *s, size_t n, size_t i) {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i;
}

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

static int find_member(const char *s, size_t start, size_t end, const char *key, size_t *vs, size_t *ve) {
    size_t i = skip_ws(s, end, start);
    if (i >= end || s[i] != '{') return 0;
    i++;
    size_t klen = strlen(key);
    for (;;) {
        i = skip_ws(s, end, i);
        if (i >= end || s[i] != '"') return 0;
        size_t kend = skip_value(s, end, i);
        int match = (kend - i - 2 == klen) && memcmp(s + i + 1, key, klen) == 0;
        i = skip_ws(s, end, kend);
        if (i >= end || s[i] != ':') return 0;
        i = skip_ws(s, end, i + 1);
        size_t v = skip_value(s, end, i);
        if (match) { *vs = i; *ve = v; return 1; }
        i = skip_ws(s, end, v);
        if (i >= end || s[i] != ',') return 0;
        i++;
    }
}

static int is_method(const char *m, size_t ms, size_t me, const char *name) {
    size_t n = strlen(name);
    return me - ms == n + 2 && memcmp(m + ms + 1, name, n) == 0;
}

/* ---- Transport -------------------------------------------------------------------------------- */

typedef struct message { char *bytes; size_t len; struct message *next; } message;

typedef struct connection {
    mcph_conn_callbacks cb;
    pthread_t worker;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    message *head, *tail;
    int closing;
} connection;

static const mcph_host *g_host;

static void reply(connection *c, const char *json) {
    mcph_bytes b = {(const uint8_t *)json, strlen(json), NULL, NULL};
    c->cb.on_message(c->cb.ctx, b);
}

static void handle(connection *c, const char *m, size_t n) {
    size_t ms, me, is, ie, ps, pe, as, ae;
    if (!find_member(m, 0, n, "method", &ms, &me) || !find_member(m, 0, n, "id", &is, &ie)) return;
    char *out = NULL;
    size_t cap = 0;
    FILE *f = open_memstream(&out, &cap);
    if (!f) return;
    int idlen = (int)(ie - is);
    if (is_method(m, ms, me, "initialize")) {
        fprintf(f, "{\"jsonrpc\":\"2.0\",\"id\":%.*s,\"result\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"tools\":{}},"
                   "\"serverInfo\":{\"name\":\"fixture-1.0\",\"version\":\"1.0.0\"}}}", idlen, m + is);
    } else if (is_method(m, ms, me, "tools/list")) {
        fprintf(f, "{\"jsonrpc\":\"2.0\",\"id\":%.*s,\"result\":{\"tools\":[{\"name\":\"echo\",\"description\":\"ABI 1.0 fixture\","
                   "\"inputSchema\":{\"type\":\"object\"}},{\"name\":\"hidden\",\"inputSchema\":{\"type\":\"object\"}}]}}", idlen, m + is);
    } else if (is_method(m, ms, me, "tools/call") && find_member(m, 0, n, "params", &ps, &pe)) {
        const char *args = "{}";
        int alen = 2;
        if (find_member(m, ps, pe, "arguments", &as, &ae)) { args = m + as; alen = (int)(ae - as); }
        fprintf(f, "{\"jsonrpc\":\"2.0\",\"id\":%.*s,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"fixture 1.0\"}],"
                   "\"structuredContent\":%.*s}}", idlen, m + is, alen, args);
    } else {
        fprintf(f, "{\"jsonrpc\":\"2.0\",\"id\":%.*s,\"error\":{\"code\":-32601,\"message\":\"Method not found\"}}", idlen, m + is);
    }
    fclose(f);
    reply(c, out);
    free(out);
}

static void *worker_main(void *arg) {
    connection *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->lock);
        while (!c->head && !c->closing) pthread_cond_wait(&c->wake, &c->lock);
        message *m = c->head;
        if (m) { c->head = m->next; if (!c->head) c->tail = NULL; }
        pthread_mutex_unlock(&c->lock);
        if (!m) break;
        handle(c, m->bytes, m->len);
        free(m->bytes);
        free(m);
    }
    c->cb.on_event(c->cb.ctx, MCPH_EVENT_CLOSED, 0, "closed", 6);
    return NULL;
}

static mcph_status t_open(void *state, const char *config, size_t config_len, const mcph_conn_callbacks *cb,
                          void **out, char *err, size_t err_cap) {
    (void)state; (void)config; (void)config_len;
    if (!cb || cb->struct_size < sizeof(mcph_conn_callbacks)) { /* the 1.0 size: this header is 1.0 */
        snprintf(err, err_cap, "fixture: callbacks table too small");
        return MCPH_E_INVALID;
    }
    connection *c = calloc(1, sizeof *c);
    if (!c) { snprintf(err, err_cap, "fixture: out of memory"); return MCPH_E_FAILED; }
    memcpy(&c->cb, cb, sizeof c->cb); /* only the 1.0 part, whatever the host's struct_size */
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    if (pthread_create(&c->worker, NULL, worker_main, c) != 0) {
        snprintf(err, err_cap, "fixture: cannot start a thread");
        free(c);
        return MCPH_E_FAILED;
    }
    c->cb.on_event(c->cb.ctx, MCPH_EVENT_OPENED, 0, NULL, 0);
    *out = c;
    return MCPH_OK;
}

static mcph_status t_send(void *conn, mcph_bytes msg) {
    connection *c = conn;
    mcph_status status = MCPH_OK;
    pthread_mutex_lock(&c->lock);
    if (c->closing) status = MCPH_E_CLOSED;
    else {
        message *m = malloc(sizeof *m);
        m->bytes = malloc(msg.len ? msg.len : 1);
        memcpy(m->bytes, msg.ptr, msg.len);
        m->len = msg.len;
        m->next = NULL;
        if (c->tail) c->tail->next = m; else c->head = m;
        c->tail = m;
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->lock);
    if (msg.release) msg.release(msg.release_ctx, msg.ptr, msg.len);
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
    pthread_join(c->worker, NULL);
    while (c->head) { message *m = c->head; c->head = m->next; free(m->bytes); free(m); }
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake);
    free(c);
}

static const mcph_transport_v1 transport = {sizeof(mcph_transport_v1), "fixture10", t_open, t_send, t_close, t_destroy};

/* ---- Router ----------------------------------------------------------------------------------- */

static int32_t r_expose(void *state, mcph_item_kind kind, const char *backend, size_t backend_len,
                        const char *name, size_t name_len, mcph_buf *out) {
    (void)state;
    if (name_len == 6 && memcmp(name, "hidden", 6) == 0) return MCPH_EXPOSE_HIDE; /* 1 in ABI 1.0 */
    size_t need = (kind == MCPH_ITEM_TOOL || kind == MCPH_ITEM_PROMPT) ? backend_len + 2 + name_len : name_len;
    out->len = need;
    if (need > out->cap) return MCPH_E_TOO_SMALL;
    if (kind == MCPH_ITEM_TOOL || kind == MCPH_ITEM_PROMPT) {
        memcpy(out->ptr, backend, backend_len);
        memcpy(out->ptr + backend_len, "__", 2);
        memcpy(out->ptr + backend_len + 2, name, name_len);
    } else {
        memcpy(out->ptr, name, name_len);
    }
    return MCPH_EXPOSE_SHOW;
}

static mcph_route_decision r_route(void *state, const char *method, size_t method_len, mcph_item_kind kind,
                                   const char *name, size_t name_len, mcph_buf *out_backend, mcph_buf *out_name,
                                   mcph_buf *out_message) {
    (void)state; (void)method; (void)method_len; (void)out_message;
    if (kind != MCPH_ITEM_TOOL && kind != MCPH_ITEM_PROMPT) return MCPH_ROUTE_DEFAULT;
    for (size_t i = 1; i + 1 < name_len; i++) {
        if (name[i] == '_' && name[i + 1] == '_') {
            if (i > out_backend->cap || name_len - i - 2 > out_name->cap) return MCPH_ROUTE_DEFAULT;
            memcpy(out_backend->ptr, name, i);
            out_backend->len = i;
            memcpy(out_name->ptr, name + i + 2, name_len - i - 2);
            out_name->len = name_len - i - 2;
            return MCPH_ROUTE_FORWARD;
        }
    }
    return MCPH_ROUTE_DEFAULT;
}

static const mcph_router_v1 router = {sizeof(mcph_router_v1), r_expose, r_route};

/* ---- Descriptor ------------------------------------------------------------------------------- */

static mcph_status p_init(const mcph_host *host, void **state, char *err, size_t err_cap) {
    (void)err; (void)err_cap;
    g_host = host;
    *state = NULL;
    return MCPH_OK;
}

static const void *p_get_interface(void *state, const char *id) {
    (void)state;
    if (strcmp(id, MCPH_IFACE_TRANSPORT_V1) == 0) return &transport;
    if (strcmp(id, MCPH_IFACE_ROUTER_V1) == 0) return &router;
    return NULL;
}

static void p_deinit(void *state) {
    (void)state;
    const char *path = getenv("MCPH_FIXTURE_DEINIT_FILE");
    if (!path) return;
    FILE *f = fopen(path, "a");
    if (!f) return;
    fprintf(f, "deinit %s\n", FIXTURE_ID);
    fclose(f);
}

static const mcph_plugin_descriptor descriptor = {
    sizeof(mcph_plugin_descriptor), 1, 0, /* built against ABI 1.0 */
    FIXTURE_ID, "ABI 1.0 fixture", "1.0.0", "A plugin built against the frozen 1.0 header",
    MCPH_KIND_TRANSPORT | MCPH_KIND_ROUTER, p_init, p_get_interface, p_deinit,
};

MCPH_EXPORT const mcph_plugin_descriptor *mcph_plugin_entry_v1(void) { return &descriptor; }
