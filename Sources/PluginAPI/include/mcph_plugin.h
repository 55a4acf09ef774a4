/*
 * mcph_plugin.h — the mcp-host plugin ABI, version 1.
 *
 * This header IS the stable contract between mcp-host and its plugins (transports, routers). It is
 * plain C99 with <stdint.h>/<stddef.h>/<stdbool.h> only and compiles as C and C++. A plugin written
 * in C, Rust, Zig, Go or Swift needs nothing but this file. Rules (see docs/plugin-abi.md):
 *
 *  - One exported entry symbol whose NAME carries the major version: mcph_plugin_entry_v1.
 *    A library built for another major simply lacks it (a clean dlsym miss).
 *  - Growable structs start with `struct_size`; fields are only ever appended; a reader never
 *    touches bytes beyond the struct_size the writer declared. Fields past a declared struct_size
 *    read as absent (zero / NULL). The smallest acceptable struct_size of each struct is its ABI 1.0
 *    size (MCPH_*_SIZE_1_0 below), never the reader's own sizeof: a 1.0 peer stays usable forever
 *    within major 1. mcph_struct_copy() below does the bounded copy.
 *  - Interfaces are fetched by versioned string id ("mcph.transport/1", "mcph.router/1").
 *  - Nothing unwinds across the boundary: functions return an mcph_status and, where useful, write
 *    a NUL-terminated message into a caller-provided buffer.
 *  - Every item states who owns it, until when, and from which threads it may be used.
 *
 * Threads: "control thread" = the host serializes these calls per plugin (init, get_interface,
 * open, destroy, deinit): two of them never run at the same time for one plugin, but successive
 * calls may come from different host threads. "any thread" = may be called concurrently from
 * several threads. "serialized per connection" = never concurrently for the same connection,
 * possibly from different threads over time.
 *
 * Re-entrancy (since 1.1, and what a 1.0 plugin was promised): the host never calls a plugin
 * function from inside one of that plugin's callbacks (on_message, on_event, on_log) on the same
 * thread. Work the host decides inside a callback (answering a backend's ping, closing after a
 * protocol violation) is run later on another host thread, in order per connection.
 */
#ifndef MCPH_PLUGIN_H
#define MCPH_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Versions --------------------------------------------------------------------------------- */

/* Major: bumped on any incompatible change; also renames the entry symbol. */
#define MCPH_ABI_MAJOR 1
/* Minor: bumped whenever anything is appended (a field, a constant, an interface). */
#define MCPH_ABI_MINOR 4

/* The entry symbol a v1 plugin exports (the string the host passes to dlsym). */
#define MCPH_ENTRY_SYMBOL_V1 "mcph_plugin_entry_v1"

#if defined(__GNUC__) || defined(__clang__)
#define MCPH_EXPORT __attribute__((visibility("default")))
#else
#define MCPH_EXPORT
#endif

/* ---- Status codes ----------------------------------------------------------------------------- */

/* Result of every fallible call. Values are stable; new ones are only appended. */
typedef int32_t mcph_status;
#define MCPH_OK 0            /* success */
#define MCPH_E_INVALID 1     /* bad argument or configuration; the error buffer says which */
#define MCPH_E_AGAIN 2       /* back-pressure: queue full, retry after MCPH_EVENT_WRITABLE */
#define MCPH_E_CLOSED 3      /* the connection is closing or closed */
#define MCPH_E_UNSUPPORTED 4 /* the operation or interface is not provided */
#define MCPH_E_FAILED 5      /* any other failure; the error buffer says what */
#define MCPH_E_TOO_SMALL 6   /* an output buffer was too small; its `len` holds the needed size */

/* Log levels for mcph_host.log and mcph_conn_callbacks.on_log. */
typedef int32_t mcph_log_level;
#define MCPH_LOG_TRACE 0
#define MCPH_LOG_DEBUG 1
#define MCPH_LOG_INFO 2
#define MCPH_LOG_WARNING 3
#define MCPH_LOG_ERROR 4

/* ---- Growable structs ------------------------------------------------------------------------- */

/* Bytes of a struct up to and including `field` (the size a struct had when `field` was its last). */
#define MCPH_SIZE_THROUGH(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

/*
 * Copies a growable struct the peer declared as `src_size` bytes (its struct_size) into `dst` of
 * `dst_size` bytes (the reader's sizeof): copies min(src_size, dst_size) bytes and zeroes the rest,
 * so fields the peer does not have read as absent. The caller first checks that src_size is at
 * least the struct's 1.0 size. Pure; any thread.
 */
static inline void mcph_struct_copy(void *dst, size_t dst_size, const void *src, size_t src_size) {
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    size_t n = src_size < dst_size ? src_size : dst_size;
    size_t i;
    for (i = 0; i < n; i++) d[i] = s[i];
    for (; i < dst_size; i++) d[i] = 0;
}

/* ---- Bytes and buffers ------------------------------------------------------------------------ */

/* Releases bytes whose ownership was transferred. Called exactly once, from any thread. */
typedef void (*mcph_release_fn)(void *release_ctx, const uint8_t *ptr, size_t len);

/*
 * A byte range crossing the boundary (fixed layout, never grows).
 * release == NULL: borrowed; valid only until the call it was passed to returns; copy to keep.
 * release != NULL: ownership moves to the receiver, which calls release(release_ctx, ptr, len)
 * exactly once when done, whatever status it returns. No shared allocator is assumed.
 */
typedef struct mcph_bytes {
    const uint8_t *ptr;      /* first byte; may be NULL when len == 0 */
    size_t len;              /* number of bytes */
    mcph_release_fn release; /* NULL = borrowed; else the receiver's duty to call once */
    void *release_ctx;       /* opaque to the receiver; passed back to release */
} mcph_bytes;

/*
 * A caller-owned output buffer (fixed layout). The callee writes at most `cap` bytes at `ptr`
 * and always sets `len` to the full length of its answer; if that exceeds `cap` it returns
 * MCPH_E_TOO_SMALL and the caller may retry with a larger buffer. No NUL terminator is implied.
 */
typedef struct mcph_buf {
    char *ptr;  /* caller-owned storage; valid for the duration of the call */
    size_t cap; /* capacity in bytes */
    size_t len; /* set by the callee: bytes written, or bytes needed */
} mcph_buf;

/* ---- The host, as seen by a plugin -------------------------------------------------------------- */

/*
 * Passed once to mcph_plugin_descriptor.init. Owned by the host; valid until the plugin's
 * `deinit` returns (plugins are never unloaded, so in practice for the process lifetime).
 * Growable: check struct_size before reading a field appended after ABI 1.0 (the minimum is
 * MCPH_HOST_SIZE_1_0).
 */
typedef struct mcph_host {
    uint32_t struct_size; /* sizeof(mcph_host) as the host was built */
    uint16_t abi_major;   /* the host's MCPH_ABI_MAJOR */
    uint16_t abi_minor;   /* the host's MCPH_ABI_MINOR */
    void *ctx;            /* host-owned; pass back to every function below */

    /* Writes one log line tagged with the plugin id. Any thread; never blocks; copies msg. */
    void (*log)(void *ctx, mcph_log_level level, const char *msg, size_t msg_len);

    /* Monotonic clock in nanoseconds (the host's injected clock). Any thread; never blocks. */
    uint64_t (*monotonic_ns)(void *ctx);

    /* Host-side interface by versioned id, or NULL. Control thread. ABI 1.4 defines none. */
    const void *(*get_interface)(void *ctx, const char *iface_id);

    /*
     * Since 1.2. The host's state directory (absolute path, UTF-8, NOT NUL-terminated), where a
     * plugin may keep data across restarts (caches) in a subdirectory named after its id. Owned by
     * the host; valid until deinit. The directory may not exist yet: a plugin that writes creates
     * it (mode 0700). NULL / 0 when the host gives none (a 1.0/1.1 host, whose struct_size ends
     * before these fields, reads as NULL): the plugin then keeps nothing on disk. Any thread.
     */
    const char *state_dir;
    size_t state_dir_len; /* bytes at state_dir; 0 when state_dir is NULL */

    /*
     * Since 1.4. This plugin's own section of the host configuration: the JSON object (UTF-8, NOT
     * NUL-terminated) at "plugins": {"<plugin id>": {...}} in the servers file, with ${VAR}s
     * substituted; NULL / 0 when the configuration has none (and in hosts older than 1.4). Owned by
     * the host; valid until deinit; it stays the section as it was at init: a change made while
     * the host runs comes through mcph_plugin_descriptor.reconfigure.
     */
    const char *plugin_config;
    size_t plugin_config_len;
} mcph_host;

/* The 1.0 size of mcph_host: the smallest struct_size a plugin may be given. */
#define MCPH_HOST_SIZE_1_0 MCPH_SIZE_THROUGH(mcph_host, get_interface)

/* ---- The plugin descriptor -------------------------------------------------------------------- */

/* Bits for mcph_plugin_descriptor.kinds. */
#define MCPH_KIND_TRANSPORT (1u << 0)
#define MCPH_KIND_ROUTER (1u << 1)

/*
 * Returned by the entry function. Owned by the plugin, static: valid for the process lifetime.
 * Growable (struct_size first; the host accepts MCPH_DESCRIPTOR_SIZE_1_0 and up).
 */
typedef struct mcph_plugin_descriptor {
    uint32_t struct_size;    /* sizeof(mcph_plugin_descriptor) as the plugin was built */
    uint16_t abi_major;      /* MCPH_ABI_MAJOR the plugin was built against */
    uint16_t abi_minor;      /* MCPH_ABI_MINOR the plugin was built against */
    const char *id;          /* unique id, e.g. "mcph.stdio"; static, NUL-terminated, [a-z0-9._-] */
    const char *name;        /* human name; static */
    const char *version;     /* plugin version, e.g. "1.2.0"; static */
    const char *description; /* one line; static; may be NULL */
    uint32_t kinds;          /* MCPH_KIND_* bits */

    /*
     * Creates the plugin's state. Control thread, once, before anything else. On failure writes a
     * NUL-terminated message (at most err_cap bytes) into err and returns non-OK; the plugin is
     * then not used again. `host` stays valid as stated above.
     */
    mcph_status (*init)(const mcph_host *host, void **out_state, char *err, size_t err_cap);

    /*
     * Returns the plugin's interface table for a versioned id ("mcph.transport/1",
     * "mcph.router/1"), or NULL. Control thread. The table is static or lives until deinit.
     */
    const void *(*get_interface)(void *state, const char *iface_id);

    /*
     * Ends the plugin; may be NULL. Called exactly once after a successful init: right away when
     * the host refuses the plugin after init (duplicate id or transport name, missing or
     * incomplete interface), else at host shutdown once every connection of the plugin was
     * destroyed (if a connection is still not destroyed at the shutdown deadline, deinit is
     * skipped and the host logs it). Nothing of the plugin is called afterwards. Control thread.
     */
    void (*deinit)(void *state);

    /*
     * Since 1.4; may be NULL. The plugin's section of the configuration changed while the host runs
     * (a configuration reload): config_json is the new section as for mcph_host.plugin_config
     * (borrowed for the call; NULL / 0 when the section was removed). Return MCPH_OK when it is
     * applied; MCPH_E_UNSUPPORTED when this change needs a restart of the host (err says which
     * setting; the host logs it and the plugin keeps its old settings); another status to refuse
     * it (err says why; the old settings stay). NULL means every change needs a restart. Control
     * thread; keep it short (it delays the plugin's opens).
     */
    mcph_status (*reconfigure)(void *state, const char *config_json, size_t config_len, char *err, size_t err_cap);
} mcph_plugin_descriptor;

/* The 1.0 size of mcph_plugin_descriptor. */
#define MCPH_DESCRIPTOR_SIZE_1_0 MCPH_SIZE_THROUGH(mcph_plugin_descriptor, deinit)

/* Type of the entry function. It must be callable any number of times and return the same pointer. */
typedef const mcph_plugin_descriptor *(*mcph_plugin_entry_v1_fn)(void);

#if !defined(__swift__)
/* The one symbol a v1 plugin exports. */
MCPH_EXPORT const mcph_plugin_descriptor *mcph_plugin_entry_v1(void);
#endif

/* ---- Transport interface "mcph.transport/1" ----------------------------------------------------- */

#define MCPH_IFACE_TRANSPORT_V1 "mcph.transport/1"

/* Connection events (mcph_conn_callbacks.on_event). */
typedef int32_t mcph_conn_event;
/*
 * OPENED: the connection is ready for send (at most once). Since 1.3: code = the id of the process
 * the transport started for this connection (the stdio transport: its supervisor, whose process
 * group holds the backend), or 0 when there is none; detail = a short description of the
 * connection without secrets (e.g. a URL without credentials), shown in the host's status. Older
 * hosts ignore both.
 */
#define MCPH_EVENT_OPENED 1
#define MCPH_EVENT_FAILED 2   /* terminal: opening or the connection failed; code/detail say why */
#define MCPH_EVENT_CLOSED 3   /* terminal: closed (by close() or by the peer); code = exit status or 0 */
#define MCPH_EVENT_WRITABLE 4 /* send may succeed again after MCPH_E_AGAIN; owed after every E_AGAIN */
/*
 * Since 1.3; not terminal. The remote end lost the session state the host had set up (an HTTP
 * server answered 404 for its session) and the transport made a new session by replaying the
 * host's initialize handshake. The remote end has forgotten everything asked of it after the
 * handshake (resource subscriptions, for one): the host restores them and refreshes its lists.
 * Requests in flight when the session was lost are the plugin's to settle: it answers each with
 * the retried request's answer or with an error response; the host does not fail them itself.
 * Send it only to a host whose mcph_host.abi_minor is 3 or more (an older host ignores unknown
 * events; a plugin may instead end such a connection with FAILED so that the host starts again).
 */
#define MCPH_EVENT_SESSION_RESET 5

/*
 * Given by the host to open(). The plugin copies the struct (at most struct_size bytes, see
 * mcph_struct_copy; the minimum is MCPH_CONN_CALLBACKS_SIZE_1_0); `ctx` stays valid until
 * destroy() returns. The host's functions only enqueue work: they never block and never call back
 * into the plugin (see "Re-entrancy" above), so a plugin may call them while holding its own
 * locks, and from inside its own send or close.
 */
typedef struct mcph_conn_callbacks {
    uint32_t struct_size; /* sizeof(mcph_conn_callbacks) as the host was built */
    void *ctx;            /* host-owned handle of this connection */

    /*
     * One complete JSON-RPC message, without framing. Serialized per connection; never blocks.
     * Ownership per mcph_bytes: borrowed bytes are copied by the host before it returns.
     */
    void (*on_message)(void *ctx, mcph_bytes message);

    /*
     * A connection event. Serialized per connection (with on_message); never blocks. After a
     * terminal event (FAILED or CLOSED, exactly one per connection) no on_message follows.
     * detail: borrowed, not NUL-terminated, may be NULL.
     */
    void (*on_event)(void *ctx, mcph_conn_event event, int32_t code, const char *detail, size_t detail_len);

    /* A log line about this connection (e.g. a child's stderr line). Any thread; never blocks. */
    void (*on_log)(void *ctx, mcph_log_level level, const char *msg, size_t msg_len);

    /*
     * Since 1.3; NULL or absent (struct_size ends before it) in older hosts: then use on_message.
     * A request or notification from the remote end that belongs to one of the host's requests:
     * it came on the answer stream of that request (the SSE stream of an HTTP POST), so the host
     * routes it to the client whose request caused it (sampling, elicitation, roots, log messages)
     * even when several clients have requests in flight on the backend. related_id is that
     * request's "id" exactly as the host sent it (JSON bytes, borrowed for the call, e.g. 42 or
     * "a"). Responses never come this way. Serialized per connection with on_message and on_event,
     * in the order the remote end sent them; never blocks; ownership of message per mcph_bytes.
     */
    void (*on_related_message)(void *ctx, mcph_bytes message, const uint8_t *related_id, size_t related_id_len);
} mcph_conn_callbacks;

/* The 1.0 size of mcph_conn_callbacks: the smallest struct_size a transport may be given. */
#define MCPH_CONN_CALLBACKS_SIZE_1_0 MCPH_SIZE_THROUGH(mcph_conn_callbacks, on_log)
/* The 1.3 size: a struct_size at least this large carries on_related_message (which may be NULL). */
#define MCPH_CONN_CALLBACKS_SIZE_1_3 MCPH_SIZE_THROUGH(mcph_conn_callbacks, on_related_message)

/* The transport interface table. Static, owned by the plugin. Growable. */
typedef struct mcph_transport_v1 {
    uint32_t struct_size; /* sizeof(mcph_transport_v1) as the plugin was built */
    const char *name;     /* transport name used in configs, e.g. "stdio"; static */

    /*
     * Starts opening a connection described by config_json (a JSON object, borrowed for the call;
     * the host has already substituted ${VAR}s). Returns at once: MCPH_OK with *out_conn set, then
     * exactly one of OPENED/FAILED arrives later (from any thread, possibly before open returns
     * to the host — the host is prepared for that). A non-OK status means nothing was created
     * and no callback will come; err holds a NUL-terminated reason. Control thread: never
     * concurrently with another open or destroy of this plugin, so keep it short (it delays them).
     */
    mcph_status (*open)(void *plugin_state, const char *config_json, size_t config_len,
                        const mcph_conn_callbacks *callbacks, void **out_conn, char *err, size_t err_cap);

    /*
     * Queues one complete JSON-RPC message (no framing; the plugin frames it). Never blocks.
     * Any thread; calls for one connection are serialized by the host. Consumes `message` per
     * mcph_bytes whatever it returns. MCPH_E_AGAIN: queue full, nothing queued; the plugin owes
     * one MCPH_EVENT_WRITABLE once it can take messages again, and the host keeps this message and
     * every later one (in order) until then. MCPH_E_CLOSED: the connection is gone. Never called
     * from inside this plugin's callbacks.
     */
    mcph_status (*send)(void *conn, mcph_bytes message);

    /*
     * Begins an orderly close; returns at once. Within grace_ms (plus a small fixed margin) the
     * connection ends with exactly one terminal event, if none was sent already; a child process
     * and everything it started is gone by then. Idempotent. Any thread; never from inside this
     * plugin's callbacks. Messages the host still holds back (after MCPH_E_AGAIN) are not sent.
     */
    mcph_status (*close)(void *conn, uint32_t grace_ms);

    /*
     * Frees the connection. Closes it first if needed (grace 0). When destroy returns, no callback
     * for this connection runs or will run. Control thread (never concurrently with another open
     * or destroy of this plugin); never from inside a callback. May block until the plugin's
     * threads are done; the host calls it from a thread of its own, never from its task pool.
     */
    void (*destroy)(void *conn);
} mcph_transport_v1;

/* The 1.0 size of mcph_transport_v1: the smallest struct_size the host accepts. */
#define MCPH_TRANSPORT_SIZE_1_0 MCPH_SIZE_THROUGH(mcph_transport_v1, destroy)

/* ---- Router interface "mcph.router/1" ---------------------------------------------------------- */

#define MCPH_IFACE_ROUTER_V1 "mcph.router/1"

/* Kinds of catalog items. */
typedef int32_t mcph_item_kind;
#define MCPH_ITEM_TOOL 1
#define MCPH_ITEM_PROMPT 2
#define MCPH_ITEM_RESOURCE 3          /* name = the resource URI */
#define MCPH_ITEM_RESOURCE_TEMPLATE 4 /* name = the URI template */

/*
 * expose() answers. In ABI 1.0 MCPH_EXPOSE_HIDE was 1, the same value as MCPH_E_INVALID, so an
 * error could not be told from a decision to hide. Since 1.1 it is -1, distinct from every status
 * code. The host reads the answer by the minor in the plugin's descriptor: minor 0 -> 1 means
 * hide (MCPH_EXPOSE_HIDE_1_0); minor >= 1 -> -1 means hide and any other non-zero value is an
 * error, which the host logs (naming the item and the status) before hiding the item.
 */
#define MCPH_EXPOSE_SHOW 0      /* list the item under the name written to out_name */
#define MCPH_EXPOSE_HIDE (-1)   /* filter the item out of every list; calls to it are rejected */
#define MCPH_EXPOSE_HIDE_1_0 1  /* what MCPH_EXPOSE_HIDE was in 1.0; only meaningful from a 1.0 plugin */

/* allow() answers (since 1.4). */
#define MCPH_ALLOW 0
#define MCPH_DENY (-1)

/*
 * Since 1.4. Who is asking, as the host authenticated them: for an HTTP client, the subject and
 * roles configured for its bearer token; never what the client says about itself (clientInfo).
 * Fixed for the call; every pointer is borrowed for the call; strings are not NUL-terminated.
 * Growable (struct_size first; read fields past it as absent).
 */
typedef struct mcph_caller {
    uint32_t struct_size;     /* sizeof(mcph_caller) as the host was built */
    const char *subject;      /* e.g. "alice"; "" (length 0) when the client is not authenticated */
    size_t subject_len;
    const char *const *roles; /* role_count strings (e.g. "dev"); NULL when role_count is 0 */
    const size_t *role_lens;  /* the length of each role */
    size_t role_count;
    const char *front_end;    /* how the client is connected: "stdio", "http", "socket" or "cli" */
    size_t front_end_len;
} mcph_caller;

/* route() answers. */
typedef int32_t mcph_route_decision;
#define MCPH_ROUTE_DEFAULT 0 /* no opinion: the host uses its catalog mapping */
#define MCPH_ROUTE_FORWARD 1 /* send to out_backend with the item name out_name */
#define MCPH_ROUTE_REJECT 2  /* refuse; out_message says why (sent to the client as -32602) */

/*
 * A router maps backend item names to exposed names and back. Pure and thread-safe: every
 * function may be called from any thread concurrently and must not block. Static table.
 *
 * Routers form a chain (since 1.4; the host's "routers" setting, e.g. namespace, alias, filter).
 * expose runs in chain order: the first router is given the backend's own item name, router k the
 * name router k-1 exposed; every router is also given the backend's name; a HIDE anywhere hides
 * the item. route runs in reverse: each router is given the name it exposed and answers FORWARD
 * with the name it was given (out_backend may be left empty, len 0, by a router after the first:
 * the backend comes from the router nearest the start of the chain that names one), DEFAULT to
 * pass the name on unchanged, or REJECT. A single router (1.0 to 1.3 hosts) is a chain of one.
 */
typedef struct mcph_router_v1 {
    uint32_t struct_size; /* sizeof(mcph_router_v1) as the plugin was built */

    /*
     * The exposed name of a backend's item, written to out_name (MCPH_E_TOO_SMALL if it does
     * not fit), or MCPH_EXPOSE_HIDE, or another mcph_status on error (logged; the item is hidden).
     * Must be deterministic: the same input gives the same name.
     * All strings are borrowed for the call and not NUL-terminated.
     */
    int32_t (*expose)(void *state, mcph_item_kind kind, const char *backend, size_t backend_len,
                      const char *name, size_t name_len, mcph_buf *out_name);

    /*
     * Routing of a request naming an item (tools/call, prompts/get, resources/read, ...).
     * method and name are borrowed, not NUL-terminated. Returns a mcph_route_decision; FORWARD
     * fills out_backend and out_name, REJECT fills out_message. Buffers as mcph_buf.
     */
    mcph_route_decision (*route)(void *state, const char *method, size_t method_len, mcph_item_kind kind,
                                 const char *name, size_t name_len, mcph_buf *out_backend,
                                 mcph_buf *out_name, mcph_buf *out_message);

    /*
     * Since 1.4; may be NULL (everything is allowed). Whether `caller` may see and use the item a
     * client knows as `name` (the name clients see, after every router of the chain exposed it).
     * The host asks before listing an item to a client and before routing a request that names
     * one, so an item hidden from a caller cannot be called by guessing its name. Returns
     * MCPH_ALLOW or MCPH_DENY; any other value is an error, which the host logs and treats as
     * MCPH_DENY. Pure and thread-safe like expose; never blocks.
     */
    int32_t (*allow)(void *state, mcph_item_kind kind, const char *name, size_t name_len, const mcph_caller *caller);
} mcph_router_v1;

/* The 1.0 size of mcph_router_v1: the smallest struct_size the host accepts. */
#define MCPH_ROUTER_SIZE_1_0 MCPH_SIZE_THROUGH(mcph_router_v1, route)

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MCPH_PLUGIN_H */
