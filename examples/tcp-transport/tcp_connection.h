/*
 * tcp_connection.h — one TCP connection to an MCP server: a thread that connects, reads lines and
 * writes the send queue (internal to the plugin; tcp_transport.c maps the ABI onto it).
 *
 * Threads: tcp_conn_start and tcp_conn_destroy on the host's control thread; tcp_conn_send and
 * tcp_conn_close from any thread (send serialized by the host). Every host callback of a connection
 * (on_message, on_event, most on_log) comes from its one thread, so they are serialized per
 * connection without a lock, and never while the connection's lock is held.
 */
#ifndef MCPH_TCP_CONNECTION_H
#define MCPH_TCP_CONNECTION_H

#include "mcph_plugin.h"
#include "tcp_config.h"

typedef struct tcp_conn tcp_conn;

/*
 * Starts a connection (its thread connects; OPENED or FAILED follows). Returns NULL with a message
 * in err when nothing could be started (no callback will come then).
 */
tcp_conn *tcp_conn_start(const tcp_config *config, const mcph_conn_callbacks *callbacks, char *err, size_t err_cap);

/* Queues one message; never blocks. Consumes `message` (calls its release) whatever it returns. */
mcph_status tcp_conn_send(tcp_conn *c, mcph_bytes message);

/* Begins an orderly close within grace_ms; idempotent; returns at once. */
mcph_status tcp_conn_close(tcp_conn *c, uint32_t grace_ms);

/* Ends the connection at once if needed, joins its thread and frees it. */
void tcp_conn_destroy(tcp_conn *c);

#endif
