/*
 * old_host_http.c — a host built against ABI 1.0 sizes driving the HTTP transport plugin.
 *
 *     old_host_http PLUGIN.so URL
 *
 * dlopens the plugin, calls init with an mcph_host of MCPH_HOST_SIZE_1_0 and abi_minor 0, opens a
 * connection to the Streamable HTTP server at URL with callbacks of MCPH_CONN_CALLBACKS_SIZE_1_0,
 * sends initialize, notifications/initialized and a tools/call of `progress` (3 steps, with a
 * progress token), then closes and destroys the connection. Checks:
 *   - every message arrives through on_message (progress notifications and the log message too),
 *     in order, before the response; on_related_message, which this host's struct does not have
 *     (it sits past struct_size), is never called;
 *   - exactly one terminal event (CLOSED) follows close, and nothing at all after destroy returns.
 * Prints one "ok ..." line and exits 0, or prints "FAIL: reason" lines and exits 1.
 */
#define _POSIX_C_SOURCE 200809L
#include "mcph_plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

/* Everything the callbacks saw, under `lock`. */
static int opened, terminal, terminal_event, failures, destroyed, after_destroy, related_calls, concurrent, inside;
static int progress_seen, progress_before_response, log_seen, log_before_response;
static int init_answered, call_answered, call_ok, progress_order_ok = 1;
static double last_progress = -1;
static char terminal_detail[512];

static void fail(const char *what) {
    printf("FAIL: %s\n", what);
    fflush(stdout);
    failures++;
}

static int contains(const char *text, size_t len, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(text + i, needle, n) == 0) return 1;
    return 0;
}

/* The number after `"progress":` in a progress notification, or -1. */
static double progress_value(const char *text, size_t len) {
    const char *key = "\"progress\":";
    size_t n = strlen(key);
    for (size_t i = 0; i + n < len; i++) {
        if (memcmp(text + i, key, n) == 0) {
            char digits[32] = {0};
            size_t j = i + n, k = 0;
            while (j < len && text[j] == ' ') j++;
            while (j < len && k < sizeof(digits) - 1 && ((text[j] >= '0' && text[j] <= '9') || text[j] == '.')) digits[k++] = text[j++];
            return k ? atof(digits) : -1;
        }
    }
    return -1;
}

static void enter(void) {
    pthread_mutex_lock(&lock);
    if (inside++) concurrent++;
    if (destroyed) after_destroy++;
}

static void leave(void) {
    inside--;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void release_bytes(mcph_bytes m) {
    if (m.release) m.release(m.release_ctx, m.ptr, m.len);
}

static void on_message(void *ctx, mcph_bytes m) {
    (void)ctx;
    const char *text = (const char *)m.ptr;
    enter();
    if (terminal) fail("on_message after the terminal event");
    if (contains(text, m.len, "\"notifications/progress\"")) {
        progress_seen++;
        if (!call_answered) progress_before_response++;
        if (!contains(text, m.len, "\"old-host-token\"")) fail("a progress notification without the request's token");
        double value = progress_value(text, m.len);
        if (value <= last_progress) progress_order_ok = 0;
        last_progress = value;
    } else if (contains(text, m.len, "\"notifications/message\"")) {
        log_seen++;
        if (!call_answered) log_before_response++;
    } else if (contains(text, m.len, "\"id\":1") && contains(text, m.len, "\"result\"")) {
        init_answered = 1;
    } else if (contains(text, m.len, "\"id\":2") && (contains(text, m.len, "\"result\"") || contains(text, m.len, "\"error\""))) {
        call_answered = 1;
        call_ok = contains(text, m.len, "\"result\"") && contains(text, m.len, "done");
        if (!call_ok) printf("call answer: %.*s\n", (int)(m.len > 400 ? 400 : m.len), text);
    }
    leave();
    release_bytes(m);
}

static void on_event(void *ctx, mcph_conn_event event, int32_t code, const char *detail, size_t detail_len) {
    (void)ctx;
    (void)code;
    enter();
    if (event == MCPH_EVENT_OPENED) {
        if (opened || terminal) fail("OPENED twice or after the terminal event");
        opened = 1;
    } else if (event == MCPH_EVENT_FAILED || event == MCPH_EVENT_CLOSED) {
        terminal++;
        terminal_event = event;
        size_t n = detail && detail_len < sizeof(terminal_detail) - 1 ? detail_len : (detail ? sizeof(terminal_detail) - 1 : 0);
        if (n) memcpy(terminal_detail, detail, n);
        terminal_detail[n] = 0;
    } else if (event == MCPH_EVENT_SESSION_RESET) {
        fail("SESSION_RESET sent to a host of abi_minor 0");
    }
    leave();
}

static void on_log(void *ctx, mcph_log_level level, const char *msg, size_t len) {
    (void)ctx;
    pthread_mutex_lock(&lock);
    if (destroyed) after_destroy++;
    pthread_mutex_unlock(&lock);
    fprintf(stderr, "plugin log %d: %.*s\n", (int)level, (int)len, msg);
}

/* Past MCPH_CONN_CALLBACKS_SIZE_1_0: a plugin that honours struct_size never sees this pointer. */
static void on_related_message(void *ctx, mcph_bytes m, const uint8_t *id, size_t id_len) {
    (void)ctx;
    (void)id;
    (void)id_len;
    pthread_mutex_lock(&lock);
    related_calls++;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    release_bytes(m);
}

static void host_log(void *ctx, mcph_log_level level, const char *msg, size_t len) {
    (void)ctx;
    fprintf(stderr, "host log %d: %.*s\n", (int)level, (int)len, msg);
}

static uint64_t host_clock(void *ctx) {
    (void)ctx;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static const void *host_interface(void *ctx, const char *id) {
    (void)ctx;
    (void)id;
    return NULL;
}

/* Waits (holding `lock`) until *flag is non-zero or `seconds` pass; returns the flag. */
static int wait_for(int *flag, int seconds) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += seconds;
    while (!*flag) {
        if (pthread_cond_timedwait(&changed, &lock, &deadline) == ETIMEDOUT) break;
    }
    return *flag;
}

static mcph_status send_text(const mcph_transport_v1 *transport, void *conn, const char *text) {
    mcph_bytes m = {(const uint8_t *)text, strlen(text), NULL, NULL};
    return transport->send(conn, m);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s PLUGIN.so URL\n", argv[0]);
        return 2;
    }
    void *library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        printf("FAIL: dlopen: %s\n", dlerror());
        return 1;
    }
    mcph_plugin_entry_v1_fn entry = (mcph_plugin_entry_v1_fn)dlsym(library, MCPH_ENTRY_SYMBOL_V1);
    if (!entry) {
        printf("FAIL: no %s\n", MCPH_ENTRY_SYMBOL_V1);
        return 1;
    }
    const mcph_plugin_descriptor *descriptor = entry();

    /* An ABI 1.0 host: its struct ends at get_interface; the bytes after it are garbage to the plugin. */
    mcph_host host;
    memset(&host, 0xA5, sizeof(host));
    host.struct_size = (uint32_t)MCPH_HOST_SIZE_1_0;
    host.abi_major = 1;
    host.abi_minor = 0;
    host.ctx = NULL;
    host.log = host_log;
    host.monotonic_ns = host_clock;
    host.get_interface = host_interface;

    char err[512] = {0};
    void *state = NULL;
    mcph_status status = descriptor->init(&host, &state, err, sizeof(err));
    if (status != MCPH_OK) {
        printf("FAIL: init returned %d: %s\n", status, err);
        return 1;
    }
    const mcph_transport_v1 *transport = descriptor->get_interface(state, MCPH_IFACE_TRANSPORT_V1);
    if (!transport) {
        printf("FAIL: no %s interface\n", MCPH_IFACE_TRANSPORT_V1);
        return 1;
    }

    mcph_conn_callbacks callbacks;
    memset(&callbacks, 0, sizeof(callbacks));
    callbacks.struct_size = (uint32_t)MCPH_CONN_CALLBACKS_SIZE_1_0;
    callbacks.ctx = &callbacks;
    callbacks.on_message = on_message;
    callbacks.on_event = on_event;
    callbacks.on_log = on_log;
    callbacks.on_related_message = on_related_message; /* beyond struct_size: must stay unseen */

    char config[1024];
    snprintf(config, sizeof(config), "{\"url\":\"%s\",\"name\":\"old\",\"shutdownGraceMs\":2000}", argv[2]);
    void *conn = NULL;
    status = transport->open(state, config, strlen(config), &callbacks, &conn, err, sizeof(err));
    if (status != MCPH_OK) {
        printf("FAIL: open returned %d: %s\n", status, err);
        return 1;
    }

    pthread_mutex_lock(&lock);
    if (!wait_for(&opened, 30)) fail(terminal ? terminal_detail : "no OPENED within 30 s");
    pthread_mutex_unlock(&lock);

    send_text(transport, conn, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\","
                               "\"capabilities\":{},\"clientInfo\":{\"name\":\"old-host\",\"version\":\"1.0\"}}}");
    pthread_mutex_lock(&lock);
    if (!wait_for(&init_answered, 30)) fail("no answer to initialize within 30 s");
    pthread_mutex_unlock(&lock);

    send_text(transport, conn, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    send_text(transport, conn, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"progress\","
                               "\"arguments\":{\"steps\":3},\"_meta\":{\"progressToken\":\"old-host-token\"}}}");
    pthread_mutex_lock(&lock);
    if (!wait_for(&call_answered, 30)) fail("no answer to tools/call progress within 30 s");
    else if (!call_ok) fail("tools/call progress did not answer \"done\"");
    if (progress_seen != 3) {
        printf("FAIL: %d progress notifications through on_message, expected 3\n", progress_seen);
        failures++;
    }
    if (progress_before_response != 3) fail("progress notifications did not all come before the response");
    if (!progress_order_ok) fail("progress notifications out of order");
    if (log_seen != 1 || log_before_response != 1) fail("the log message did not come once, before the response");
    if (terminal) fail("a terminal event before close");
    pthread_mutex_unlock(&lock);

    transport->close(conn, 2000);
    pthread_mutex_lock(&lock);
    if (!wait_for(&terminal, 10)) fail("no terminal event within 10 s of close");
    pthread_mutex_unlock(&lock);
    /* Give a stray second terminal event (or a late message) time to show up. */
    struct timespec pause = {0, 500 * 1000 * 1000};
    nanosleep(&pause, NULL);

    transport->destroy(conn);
    pthread_mutex_lock(&lock);
    destroyed = 1;
    pthread_mutex_unlock(&lock);
    nanosleep(&pause, NULL);
    if (descriptor->deinit) descriptor->deinit(state);

    pthread_mutex_lock(&lock);
    if (terminal != 1) {
        printf("FAIL: %d terminal events, expected exactly 1\n", terminal);
        failures++;
    } else if (terminal_event != MCPH_EVENT_CLOSED) {
        printf("FAIL: the terminal event after close was %d (%s), expected CLOSED\n", terminal_event, terminal_detail);
        failures++;
    }
    if (after_destroy) fail("callbacks after destroy returned");
    if (related_calls) fail("on_related_message called although the host's struct_size ends before it");
    if (concurrent) fail("callbacks of one connection ran concurrently");
    printf("%s progress=%d log=%d terminal=%d after_destroy=%d related=%d\n", failures ? "FAILED" : "ok", progress_seen, log_seen,
           terminal, after_destroy, related_calls);
    pthread_mutex_unlock(&lock);
    return failures ? 1 : 0;
}
