/*
 * tcp: a transport plugin for mcp-host, in plain C11 against mcph_plugin.h alone (pthreads and POSIX
 * sockets; no other library). It talks to an MCP server listening on a TCP socket, with one
 * JSON-RPC message per line (newline-delimited JSON) both ways.
 *
 * Config (a server entry):
 *   {"mcpServers": {"calc": {"transport": "tcp", "host": "127.0.0.1", "port": 9000,
 *                            "connect_timeout": "5s", "reconnect": true}}}
 * Keys (tcp_config.c): "host" and "port" required; "connect_timeout" (default 10s), "reconnect"
 * (default true), "send_queue_messages" (default 1024) and "send_queue_bytes" (default 16 MiB)
 * optional. A bad value is refused at `open` with an error naming the key.
 *
 * Behaviour (tcp_connection.c):
 *   - open returns at once; the connection's thread connects (non-blocking, bounded by
 *     connect_timeout; with "reconnect", refused attempts are retried with back-off until then),
 *     then sends OPENED (code 0, detail "tcp HOST:PORT") or FAILED with the errno text;
 *   - reading: one on_message per line, partial reads assembled, lines up to 64 MiB (a longer one
 *     ends the connection with FAILED "message too large");
 *   - send never blocks: a bounded queue (1024 messages / 16 MiB); full -> MCPH_E_AGAIN and exactly
 *     one MCPH_EVENT_WRITABLE once it has drained to half; partial writes and EAGAIN are handled;
 *   - a lost connection (the server closed it, or it broke) ends with FAILED "connection lost: ..."
 *     and is NOT re-established behind the host's back: the MCP session was in that connection
 *     (why, in tcp_connection.c); the host restarts the backend, which is the reconnect;
 *   - close(grace): flush the queue within the grace, shutdown(SHUT_WR), wait for the server's EOF
 *     within the grace, close; exactly one terminal event; destroy joins the thread, after which
 *     nothing of the connection runs.
 * Files: tcp_transport.c (this: the ABI), tcp_connection.c (the thread: session, send, close),
 * tcp_connect.c (reaching the server), tcp_config.c (the settings), tcp_json.c (a small validating
 * JSON scanner), tcp_queue.c (the bounded send queue), tcp_lines.c (the line splitter).
 *
 * Build (mcp-host builds it as the SwiftPM product mcph-tcp; by hand):
 *   cc -std=c11 -O2 -shared -fPIC -fvisibility=hidden -pthread -I Sources/PluginAPI/include \
 *      -o libmcph-tcp.so examples/tcp-transport/tcp_*.c
 * Only mcph_plugin_entry_v1 is exported (-fvisibility=hidden, MCPH_EXPORT below); check with
 *   nm -D --defined-only libmcph-tcp.so
 */
#include "mcph_plugin.h"
#include "tcp_config.h"
#include "tcp_connection.h"

#include <stdio.h>
#include <string.h>

/* The host, copied at init (at most the struct_size it declared). Read-only afterwards. */
static mcph_host g_host;

static void host_log(mcph_log_level level, const char *text) {
    if (g_host.log) g_host.log(g_host.ctx, level, text, strlen(text));
}

/* ---- The transport table ---------------------------------------------------------------------- */

static mcph_status t_open(void *state, const char *config_json, size_t config_len, const mcph_conn_callbacks *callbacks,
                          void **out_conn, char *err, size_t err_cap) {
    (void)state;
    if (!callbacks || callbacks->struct_size < MCPH_CONN_CALLBACKS_SIZE_1_0 || !callbacks->on_message || !callbacks->on_event) {
        snprintf(err, err_cap, "tcp: the host's callbacks table is smaller than ABI 1.0's or incomplete");
        return MCPH_E_INVALID;
    }
    if (!out_conn) {
        snprintf(err, err_cap, "tcp: open needs out_conn");
        return MCPH_E_INVALID;
    }
    tcp_config config;
    if (!tcp_config_parse(config_json, config_len, &config, err, err_cap)) return MCPH_E_INVALID;
    tcp_conn *c = tcp_conn_start(&config, callbacks, err, err_cap);
    if (!c) return MCPH_E_FAILED;
    *out_conn = c;
    return MCPH_OK;
}

static mcph_status t_send(void *conn, mcph_bytes message) {
    if (!conn) {
        if (message.release) message.release(message.release_ctx, message.ptr, message.len);
        return MCPH_E_CLOSED;
    }
    return tcp_conn_send(conn, message);
}

static mcph_status t_close(void *conn, uint32_t grace_ms) {
    return conn ? tcp_conn_close(conn, grace_ms) : MCPH_E_CLOSED;
}

static void t_destroy(void *conn) {
    if (conn) tcp_conn_destroy(conn);
}

static const mcph_transport_v1 transport = {
    sizeof(mcph_transport_v1), "tcp", t_open, t_send, t_close, t_destroy,
};

/* ---- Descriptor and entry point --------------------------------------------------------------- */

static mcph_status p_init(const mcph_host *host, void **out_state, char *err, size_t err_cap) {
    if (!host || host->struct_size < MCPH_HOST_SIZE_1_0) {
        snprintf(err, err_cap, "tcp: the host struct is smaller than ABI 1.0's");
        return MCPH_E_INVALID;
    }
    mcph_struct_copy(&g_host, sizeof g_host, host, host->struct_size);
    *out_state = NULL;
    host_log(MCPH_LOG_DEBUG, "tcp transport initialised");
    return MCPH_OK;
}

static const void *p_get_interface(void *state, const char *iface_id) {
    (void)state;
    return iface_id && strcmp(iface_id, MCPH_IFACE_TRANSPORT_V1) == 0 ? &transport : NULL;
}

static const mcph_plugin_descriptor descriptor = {
    sizeof(mcph_plugin_descriptor), MCPH_ABI_MAJOR, MCPH_ABI_MINOR,
    "mcph.tcp", "TCP transport", "1.0.0",
    "MCP servers on a TCP socket, newline-delimited JSON (written in C)",
    MCPH_KIND_TRANSPORT, p_init, p_get_interface, NULL,
    NULL, /* reconfigure (1.4): no plugin-wide settings; every setting is per connection */
};

MCPH_EXPORT const mcph_plugin_descriptor *mcph_plugin_entry_v1(void) { return &descriptor; }
