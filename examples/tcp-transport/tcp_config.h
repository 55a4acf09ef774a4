/*
 * tcp_config.h — the TCP transport's connection settings and their parser (internal to the plugin).
 *
 * The parser is a small validating JSON scanner of its own (no library): it walks the whole object
 * `open` is given, refuses malformed JSON, reads the few keys the transport knows and ignores the
 * others (the host adds "name", "transport", "shutdownGraceMs"). Pure: no I/O, no globals, any thread.
 */
#ifndef MCPH_TCP_CONFIG_H
#define MCPH_TCP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest host name or address accepted ("host"), in bytes. DNS names are at most 253. */
#define TCP_HOST_MAX 255

/* Defaults and bounds of the optional keys. */
#define TCP_DEFAULT_CONNECT_TIMEOUT_NS (10ull * 1000000000ull) /* "connect_timeout": 10 s */
#define TCP_MIN_CONNECT_TIMEOUT_NS 1000000ull                   /* 1 ms */
#define TCP_MAX_CONNECT_TIMEOUT_NS (3600ull * 1000000000ull)    /* 1 h */
#define TCP_DEFAULT_QUEUE_MESSAGES 1024u                        /* "send_queue_messages" */
#define TCP_MAX_QUEUE_MESSAGES 65536u
#define TCP_DEFAULT_QUEUE_BYTES (16u * 1024u * 1024u)           /* "send_queue_bytes": 16 MiB */
#define TCP_MIN_QUEUE_BYTES 1024u
#define TCP_MAX_QUEUE_BYTES (1024u * 1024u * 1024u)             /* 1 GiB */

typedef struct tcp_config {
    char host[TCP_HOST_MAX + 1];  /* NUL-terminated; IPv6 brackets ("[::1]") removed */
    uint16_t port;                /* 1..65535 */
    uint64_t connect_timeout_ns;  /* how long `open` may try to connect (all attempts together) */
    bool reconnect;               /* retry the first connect with back-off until connect_timeout */
    uint32_t queue_messages;      /* send queue bound in messages */
    uint32_t queue_bytes;         /* send queue bound in bytes (framed) */
} tcp_config;

/*
 * Parses the JSON object at json[0..len). Returns true and fills *out, or returns false with a
 * NUL-terminated message naming the key at fault (at most err_cap bytes) in err.
 */
bool tcp_config_parse(const char *json, size_t len, tcp_config *out, char *err, size_t err_cap);

/*
 * Parses a duration in mcp-host's syntax ("500ms", "10s", "1m30s", "1.5s", "2" = seconds) into
 * nanoseconds. Returns false with the reason in err (without the key) when it is not one.
 */
bool tcp_parse_duration(const char *text, size_t len, uint64_t *out_ns, char *err, size_t err_cap);

#endif
