/*
 * fixture_base.c — a small, correct transport + router plugin for the validator's tests
 * (ValidatorTests.swift). Compiled alone it passes `mcp-host validate-plugin`. Every other file in
 * this folder defines one BROKEN_* macro and includes this file, breaking exactly one rule of the
 * ABI, so that the validator must fail the check that names it.
 *
 * Transport "fixture": each connection is an in-process MCP server on a worker thread. It answers
 * every request (a message with "method" and "id") with a result and ignores notifications. Its
 * queue holds QUEUE_LIMIT messages and the worker spends ~200 us on each, so a flood meets
 * back-pressure: send answers MCPH_E_AGAIN and one WRITABLE follows once the queue is half empty.
 * The config passed to open is not read.
 *
 * Router: tools and prompts are exposed as BACKEND.NAME and routed back by splitting at the first
 * '.'; resources keep their URI (no opinion when routed). allow lets everyone see everything.
 *
 * Build: cc -std=c11 -shared -fPIC -pthread -fvisibility=hidden -I Sources/PluginAPI/include \
 *           -o libfixture.so Tests/IntegrationTests/c/broken/fixture_base.c
 */
#define _POSIX_C_SOURCE 200809L
#include "mcph_plugin.h"

#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef FIXTURE_ID
#define FIXTURE_ID "fixture.base"
#endif
#define QUEUE_LIMIT 16

extern char **environ;

static void sleep_us(long us) {
    struct timespec t = {us / 1000000, (us % 1000000) * 1000L};
    while (nanosleep(&t, &t) != 0) {}
}

#if defined(BROKEN_SEND_BLOCKS) || defined(BROKEN_ROUTE_BLOCKS)
/* Waits for ever: what a broken plugin does when it blocks. */
static void block_forever(void) {
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
    pthread_mutex_lock(&m);
    for (;;) pthread_cond_wait(&never, &m);
}
#endif

static mcph_host g_host; /* copied at init, within the struct_size the host declared */

/* ---- The transport ------------------------------------------------------------------------------ */

typedef struct message { char *bytes; size_t len; struct message *next; } message;

typedef struct connection {
    mcph_conn_callbacks cb; /* copied at open */
    pthread_t worker;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    message *head, *tail; /* guarded by lock */
    int queued;           /* guarded by lock */
    int closing;          /* guarded by lock */
    int owe_writable;     /* guarded by lock */
    int destroyed;        /* guarded by lock (only BROKEN_CALLBACK_AFTER_DESTROY reads it) */
} connection;

static void emit(connection *c, const char *json) {
    mcph_bytes b = {(const uint8_t *)json, strlen(json), NULL, NULL};
    c->cb.on_message(c->cb.ctx, b);
}

/* The raw JSON value of "id" in a compact message, copied into out; 0 when there is none. */
static int find_id(const char *m, char *out, size_t cap) {
    const char *at = strstr(m, "\"id\":");
    if (!at) return 0;
    at += 5;
    size_t n = 0;
    int quoted = *at == '"';
    while (at[n] && n + 1 < cap && (quoted ? (n == 0 || at[n] != '"') : (at[n] != ',' && at[n] != '}'))) n++;
    if (quoted && at[n] == '"') n++;
    memcpy(out, at, n);
    out[n] = 0;
    return n > 0;
}

static void handle(connection *c, const char *m) {
    char id[128];
    if (!strstr(m, "\"method\":") || !find_id(m, id, sizeof id)) return; /* notifications and responses */
    char answer[512];
#ifdef BROKEN_NO_ANSWER
    if (strstr(m, "\"method\":\"initialize\"")) return; /* broken: a request that never round-trips */
#endif
#ifdef BROKEN_GARBAGE
    if (strstr(m, "\"arguments\"")) { /* a tools/call (however "/" is escaped); broken: output that is not JSON-RPC */
        emit(c, "this is not JSON-RPC {");
        return;
    }
#endif
    if (strstr(m, "\"method\":\"initialize\""))
        snprintf(answer, sizeof answer, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"protocolVersion\":\"2025-06-18\","
                 "\"capabilities\":{},\"serverInfo\":{\"name\":\"fixture\",\"version\":\"1.0.0\"}}}", id);
    else
        snprintf(answer, sizeof answer, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{}}", id);
    emit(c, answer);
}

static void *worker_main(void *arg) {
    connection *c = arg;
    c->cb.on_event(c->cb.ctx, MCPH_EVENT_OPENED, 0, "fixture", 7);
#ifdef BROKEN_OPENED_TWICE
    c->cb.on_event(c->cb.ctx, MCPH_EVENT_OPENED, 0, "fixture again", 13); /* broken: OPENED at most once */
#endif
    for (;;) {
        pthread_mutex_lock(&c->lock);
        while (!c->head && !c->closing) pthread_cond_wait(&c->wake, &c->lock);
        if (c->closing) {
            pthread_mutex_unlock(&c->lock);
            break;
        }
        message *m = c->head;
        c->head = m->next;
        if (!c->head) c->tail = NULL;
        c->queued--;
        int writable = 0;
        if (c->owe_writable && c->queued <= QUEUE_LIMIT / 2) {
            c->owe_writable = 0;
            writable = 1;
        }
        pthread_mutex_unlock(&c->lock);
#ifndef BROKEN_NO_WRITABLE
        if (writable) c->cb.on_event(c->cb.ctx, MCPH_EVENT_WRITABLE, 0, NULL, 0);
#else
        (void)writable; /* broken: the WRITABLE owed after MCPH_E_AGAIN never comes */
#endif
        sleep_us(200);
        handle(c, m->bytes);
        free(m->bytes);
        free(m);
    }
#ifndef BROKEN_NO_TERMINAL
    c->cb.on_event(c->cb.ctx, MCPH_EVENT_CLOSED, 0, "closed", 6);
#endif /* else broken: the connection ends without its terminal event */
#ifdef BROKEN_TWO_TERMINAL
    c->cb.on_event(c->cb.ctx, MCPH_EVENT_CLOSED, 0, "closed again", 12); /* broken: a second terminal event */
#endif
#ifdef BROKEN_CALLBACK_AFTER_DESTROY
    /* broken: destroy does not wait for this thread, which calls back after destroy returned */
    pthread_mutex_lock(&c->lock);
    while (!c->destroyed) pthread_cond_wait(&c->wake, &c->lock);
    pthread_mutex_unlock(&c->lock);
    sleep_us(50 * 1000);
    c->cb.on_log(c->cb.ctx, MCPH_LOG_INFO, "still here after destroy", 24);
#endif
    return NULL;
}

static mcph_status t_open(void *state, const char *config, size_t config_len, const mcph_conn_callbacks *cb,
                          void **out, char *err, size_t err_cap) {
    (void)state;
    (void)config;
    (void)config_len;
    if (!cb || cb->struct_size < MCPH_CONN_CALLBACKS_SIZE_1_0) {
        snprintf(err, err_cap, "fixture: callbacks smaller than ABI 1.0's");
        return MCPH_E_INVALID;
    }
#ifdef BROKEN_OPEN_BLOCKS
    sleep_us(300 * 1000); /* broken: open must return at once */
#endif
#ifdef BROKEN_OPEN_FAILS
    snprintf(err, err_cap, "fixture: refusing to open on purpose"); /* a plugin's refusal */
    return MCPH_E_FAILED;
#endif
#ifdef BROKEN_LEAVES_CHILD
    /* broken: a process nobody ends or reaps */
    pid_t child;
    char *argv[] = {"sleep", "37.25", NULL};
    posix_spawnp(&child, "sleep", NULL, NULL, argv, environ);
#endif
    connection *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, err_cap, "fixture: out of memory");
        return MCPH_E_FAILED;
    }
    mcph_struct_copy(&c->cb, sizeof c->cb, cb, cb->struct_size);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    if (pthread_create(&c->worker, NULL, worker_main, c) != 0) {
        snprintf(err, err_cap, "fixture: cannot start a thread");
        free(c);
        return MCPH_E_FAILED;
    }
    *out = c;
    return MCPH_OK;
}

static mcph_status t_send(void *conn, mcph_bytes msg) {
    connection *c = conn;
#ifdef BROKEN_SEND_BLOCKS
    block_forever(); /* broken: send must never block */
#endif
#ifdef BROKEN_SEND_FAILS
    int is_call = 0;
    /* A tools/call: the only request with "arguments" (its "/" may be escaped). */
    for (size_t i = 0; i + 11 <= msg.len && !is_call; i++) is_call = memcmp(msg.ptr + i, "\"arguments\"", 11) == 0;
    if (is_call) { /* an error status for calls */
        if (msg.release) msg.release(msg.release_ctx, msg.ptr, msg.len);
        return MCPH_E_FAILED;
    }
#endif
    mcph_status status = MCPH_OK;
    pthread_mutex_lock(&c->lock);
    if (c->closing) {
        status = MCPH_E_CLOSED;
    } else if (c->queued >= QUEUE_LIMIT) {
        status = MCPH_E_AGAIN;
        c->owe_writable = 1;
    } else {
        message *m = malloc(sizeof *m);
        m->bytes = malloc(msg.len + 1);
        memcpy(m->bytes, msg.ptr, msg.len);
        m->bytes[msg.len] = 0;
        m->len = msg.len;
        m->next = NULL;
        if (c->tail) c->tail->next = m; else c->head = m;
        c->tail = m;
        c->queued++;
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
#ifdef BROKEN_CALLBACK_AFTER_DESTROY
    pthread_mutex_lock(&c->lock);
    c->destroyed = 1;
    pthread_cond_broadcast(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_detach(c->worker); /* broken: returns while the worker still calls back (c is leaked) */
#else
    pthread_join(c->worker, NULL);
    while (c->head) {
        message *m = c->head;
        c->head = m->next;
        free(m->bytes);
        free(m);
    }
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake);
    free(c);
#endif
}

static const mcph_transport_v1 transport = {
    sizeof(mcph_transport_v1), "fixture", t_open, t_send,
#ifdef BROKEN_MISSING_FUNCTION
    NULL, /* broken: close is missing */
#else
    t_close,
#endif
    t_destroy,
};

/* ---- The router --------------------------------------------------------------------------------- */

#ifdef BROKEN_EXPOSE_NONDETERMINISTIC
static atomic_int g_exposed;
#endif

/* Writes text into out per mcph_buf: len is always the full length; 0 when it did not fit. */
static int put(mcph_buf *out, const char *text, size_t len) {
    out->len = len;
    if (len > out->cap) return 0;
    memcpy(out->ptr, text, len);
    return 1;
}

static int32_t r_expose(void *state, mcph_item_kind kind, const char *backend, size_t backend_len, const char *name,
                        size_t name_len, mcph_buf *out) {
    (void)state;
    char exposed[1024];
    int n;
    if (kind == MCPH_ITEM_TOOL || kind == MCPH_ITEM_PROMPT)
        n = snprintf(exposed, sizeof exposed, "%.*s.%.*s", (int)backend_len, backend, (int)name_len, name);
    else
        n = snprintf(exposed, sizeof exposed, "%.*s", (int)name_len, name);
#ifdef BROKEN_EXPOSE_NONDETERMINISTIC
    n += snprintf(exposed + n, sizeof exposed - (size_t)n, "#%d", atomic_fetch_add(&g_exposed, 1)); /* broken */
#endif
    if (n < 0 || (size_t)n >= sizeof exposed) return MCPH_E_INVALID;
#ifdef BROKEN_TINY_BUFFER
    if ((size_t)n > out->cap) { /* broken: truncates silently instead of MCPH_E_TOO_SMALL */
        memcpy(out->ptr, exposed, out->cap);
        out->len = out->cap;
        return MCPH_EXPOSE_SHOW;
    }
#endif
    return put(out, exposed, (size_t)n) ? MCPH_EXPOSE_SHOW : MCPH_E_TOO_SMALL;
}

static mcph_route_decision r_route(void *state, const char *method, size_t method_len, mcph_item_kind kind, const char *name,
                                   size_t name_len, mcph_buf *out_backend, mcph_buf *out_name, mcph_buf *out_message) {
    (void)state;
    (void)method;
    (void)method_len;
    (void)out_message;
#ifdef BROKEN_ROUTE_BLOCKS
    block_forever(); /* broken: route must never block */
#endif
    if (kind != MCPH_ITEM_TOOL && kind != MCPH_ITEM_PROMPT) return MCPH_ROUTE_DEFAULT;
    const char *dot = memchr(name, '.', name_len);
    if (!dot || dot == name) return MCPH_ROUTE_DEFAULT;
    size_t backend_len = (size_t)(dot - name);
    /* Both lengths are set even when a buffer is too small: the host retries with them. */
    int fits = put(out_backend, name, backend_len);
#ifdef BROKEN_ROUTE_INCONSISTENT
    fits = put(out_name, name, name_len) && fits; /* broken: forwards the exposed name, not the one expose was given */
#else
    fits = put(out_name, dot + 1, name_len - backend_len - 1) && fits;
#endif
    (void)fits;
    return MCPH_ROUTE_FORWARD;
}

static int32_t r_allow(void *state, mcph_item_kind kind, const char *name, size_t name_len, const mcph_caller *caller) {
    (void)state;
    (void)kind;
    (void)name;
    (void)name_len;
    (void)caller;
#ifdef BROKEN_ALLOW_BOGUS
    return 7; /* broken: neither MCPH_ALLOW nor MCPH_DENY */
#else
    return MCPH_ALLOW;
#endif
}

static const mcph_router_v1 router = {sizeof(mcph_router_v1), r_expose, r_route, r_allow};

/* ---- Descriptor and entry point ------------------------------------------------------------------ */

static mcph_status p_init(const mcph_host *host, void **out_state, char *err, size_t err_cap) {
    if (!host || host->struct_size < MCPH_HOST_SIZE_1_0) {
        snprintf(err, err_cap, "fixture: mcph_host smaller than ABI 1.0's");
        return MCPH_E_INVALID;
    }
#ifdef BROKEN_READS_PAST_HOST
    /* broken: reads state_dir (ABI 1.2) without checking that the host's struct_size holds it */
    if (host->state_dir && host->state_dir_len > 0 && host->state_dir[0] == 0) return MCPH_E_FAILED;
#endif
    mcph_struct_copy(&g_host, sizeof g_host, host, host->struct_size);
    *out_state = NULL;
    return MCPH_OK;
}

static const void *p_get_interface(void *state, const char *id) {
    (void)state;
    if (strcmp(id, MCPH_IFACE_TRANSPORT_V1) == 0) return &transport;
    if (strcmp(id, MCPH_IFACE_ROUTER_V1) == 0) return &router;
    return NULL;
}

static void p_deinit(void *state) { (void)state; }

static const mcph_plugin_descriptor descriptor = {
    sizeof(mcph_plugin_descriptor), MCPH_ABI_MAJOR, MCPH_ABI_MINOR, FIXTURE_ID, "validator fixture", "1.0.0",
    "A small transport and router for the validator's tests", MCPH_KIND_TRANSPORT | MCPH_KIND_ROUTER,
    p_init, p_get_interface, p_deinit, NULL,
};

MCPH_EXPORT const mcph_plugin_descriptor *mcph_plugin_entry_v1(void) { return &descriptor; }

#ifdef BROKEN_EXTRA_EXPORT
MCPH_EXPORT int fixture_extra_symbol(void) { return 42; } /* broken: a second exported symbol */
#endif
