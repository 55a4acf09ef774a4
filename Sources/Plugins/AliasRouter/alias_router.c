/*
 * alias_router.c — the alias router (plugin id "mcph.alias", interface "mcph.router/1").
 *
 * Renames chosen tools and prompts, or drops a server's prefix from all of them. Settings come
 * from mcph_host.plugin_config (ABI 1.4), the "plugins": {"mcph.alias": {...}} section of the
 * servers file:
 *
 *   {"aliases": {"git__status": "status", "time__get_current_time": "now"},
 *    "unprefix": ["time"]}
 *
 * - "aliases": input name -> exposed name. Input names are what the router before this one in the
 *   chain exposed (with the default chain, server__name). Two inputs may not share an alias.
 * - "unprefix": servers whose items lose their "SERVER__" prefix (after the namespace router).
 *   An explicit alias wins over un-prefixing.
 * Resources and resource templates are never renamed (URIs are routed by the host's catalog).
 *
 * expose renames; route maps an alias back (FORWARD with the input name, no backend: this router
 * is meant to run after the namespace router, whose route names the backend), and an un-prefixed
 * name back to SERVER__NAME when exactly one server is un-prefixed; otherwise it has no opinion.
 * Both are deterministic. The settings are read once at init and never change (reconfigure
 * answers MCPH_E_UNSUPPORTED: alias changes need a restart), so every router function only reads
 * immutable memory: thread-safe without locks, never blocking.
 *
 * Built with -fvisibility=hidden and a version script: mcph_plugin_entry_v1 is the only export.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcph_plugin.h"

/* Bound of the settings: past it init fails with a message saying so. */
#define ALIAS_MAX_SETTINGS_BYTES (1u << 20) /* 1 MiB of JSON */

typedef struct alias_text {
    char *ptr; /* malloc'ed, not NUL-terminated (may contain any UTF-8) */
    size_t len;
} alias_text;

typedef struct alias_pair {
    alias_text from; /* the name this router is given */
    alias_text to;   /* the name it exposes */
} alias_pair;

/* Immutable after init; freed by deinit. */
typedef struct alias_state {
    alias_pair *pairs;
    size_t pair_count;
    alias_text *unprefix; /* server names */
    size_t unprefix_count;
} alias_state;

/* ---- Small helpers ------------------------------------------------------------------------- */

static void set_error(char *err, size_t cap, const char *message) {
    if (err == NULL || cap == 0) return;
    snprintf(err, cap, "%s", message);
}

static int text_equals(const alias_text *t, const char *s, size_t len) {
    return t->len == len && (len == 0 || memcmp(t->ptr, s, len) == 0);
}

static void text_free(alias_text *t) {
    free(t->ptr);
    t->ptr = NULL;
    t->len = 0;
}

static void state_free(alias_state *state) {
    if (state == NULL) return;
    for (size_t i = 0; i < state->pair_count; i++) {
        text_free(&state->pairs[i].from);
        text_free(&state->pairs[i].to);
    }
    for (size_t i = 0; i < state->unprefix_count; i++) text_free(&state->unprefix[i]);
    free(state->pairs);
    free(state->unprefix);
    free(state);
}

/* Writes (a, b) concatenated into an mcph_buf; len is always the full size. 1 if it fit. */
static int buf_write2(mcph_buf *out, const char *a, size_t a_len, const char *b, size_t b_len) {
    if (out == NULL) return 0;
    if (a_len > SIZE_MAX - b_len) return 0;
    out->len = a_len + b_len;
    if (out->len > out->cap || (out->len > 0 && out->ptr == NULL)) return 0;
    if (a_len > 0) memcpy(out->ptr, a, a_len);
    if (b_len > 0) memcpy(out->ptr + a_len, b, b_len);
    return 1;
}

/* ---- A small JSON scanner (just enough for the settings) ------------------------------------ */

typedef struct json_scanner {
    const unsigned char *p;
    const unsigned char *end;
    char *err;
    size_t err_cap;
} json_scanner;

static int fail(json_scanner *s, const char *message) {
    set_error(s->err, s->err_cap, message);
    return 0;
}

static void skip_ws(json_scanner *s) {
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static int expect_char(json_scanner *s, unsigned char c) {
    skip_ws(s);
    if (s->p >= s->end || *s->p != c) return 0;
    s->p++;
    return 1;
}

static int hex4(json_scanner *s, uint32_t *out) {
    uint32_t v = 0;
    if (s->end - s->p < 4) return 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return 0;
    }
    s->p += 4;
    *out = v;
    return 1;
}

static size_t utf8_encode(uint32_t cp, char *out) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * Reads a JSON string at the cursor into a malloc'ed buffer (escapes decoded; a lone surrogate
 * becomes U+FFFD). The decoded text is never longer than its JSON form, so that is the buffer.
 */
static int read_string(json_scanner *s, alias_text *out) {
    skip_ws(s);
    if (s->p >= s->end || *s->p != '"') return fail(s, "mcph.alias settings: expected a string");
    s->p++;
    const unsigned char *start = s->p;
    size_t cap = (size_t)(s->end - start) + 1;
    char *buf = malloc(cap);
    if (buf == NULL) return fail(s, "mcph.alias settings: out of memory");
    size_t n = 0;
    while (s->p < s->end) {
        unsigned char c = *s->p++;
        if (c == '"') {
            out->ptr = buf;
            out->len = n;
            return 1;
        }
        if (c < 0x20) break;
        if (c != '\\') {
            buf[n++] = (char)c;
            continue;
        }
        if (s->p >= s->end) break;
        unsigned char e = *s->p++;
        switch (e) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
            uint32_t cp;
            if (!hex4(s, &cp)) goto bad;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t low;
                if (s->end - s->p >= 6 && s->p[0] == '\\' && s->p[1] == 'u') {
                    const unsigned char *save = s->p;
                    s->p += 2;
                    if (hex4(s, &low) && low >= 0xDC00 && low <= 0xDFFF) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    } else {
                        s->p = save;
                        cp = 0xFFFD;
                    }
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
            /* \uXXXX is 6 bytes of input and at most 3 of output; a pair is 12 and 4. */
            n += utf8_encode(cp, buf + n);
            break;
        }
        default: goto bad;
        }
    }
bad:
    free(buf);
    return fail(s, "mcph.alias settings: a string is unterminated or has a bad escape");
}

/* ---- Settings ------------------------------------------------------------------------------ */

static int parse_aliases(json_scanner *s, alias_state *state) {
    if (!expect_char(s, '{')) return fail(s, "mcph.alias: \"aliases\" must be an object of {\"NAME\": \"ALIAS\"}");
    if (expect_char(s, '}')) return 1;
    for (;;) {
        alias_text from = {0}, to = {0};
        if (!read_string(s, &from)) return 0;
        if (!expect_char(s, ':')) { text_free(&from); return fail(s, "mcph.alias settings: expected ':'"); }
        skip_ws(s);
        if (s->p >= s->end || *s->p != '"') {
            text_free(&from);
            return fail(s, "mcph.alias: every value of \"aliases\" must be a string (the new name)");
        }
        if (!read_string(s, &to)) { text_free(&from); return 0; }
        if (from.len == 0 || to.len == 0) {
            text_free(&from); text_free(&to);
            return fail(s, "mcph.alias: \"aliases\" names and aliases must not be empty");
        }
        for (size_t i = 0; i < state->pair_count; i++) {
            const char *problem = NULL;
            const alias_text *named = NULL; /* the name the message quotes: the one given twice */
            if (text_equals(&state->pairs[i].from, from.ptr, from.len)) problem = "a name is given two aliases", named = &from;
            else if (text_equals(&state->pairs[i].to, to.ptr, to.len)) problem = "two names share one alias (it could not be routed back)", named = &to;
            if (problem != NULL) {
                char message[512];
                snprintf(message, sizeof message, "mcph.alias: \"aliases\": %s: '%.*s'", problem,
                         (int)(named->len > 200 ? 200 : named->len), named->ptr);
                text_free(&from); text_free(&to);
                return fail(s, message);
            }
        }
        alias_pair *grown = realloc(state->pairs, (state->pair_count + 1) * sizeof *grown);
        if (grown == NULL) { text_free(&from); text_free(&to); return fail(s, "mcph.alias settings: out of memory"); }
        state->pairs = grown;
        state->pairs[state->pair_count].from = from;
        state->pairs[state->pair_count].to = to;
        state->pair_count++;
        if (expect_char(s, '}')) return 1;
        if (!expect_char(s, ',')) return fail(s, "mcph.alias settings: expected ',' or '}' in \"aliases\"");
    }
}

static int parse_unprefix(json_scanner *s, alias_state *state) {
    if (!expect_char(s, '[')) return fail(s, "mcph.alias: \"unprefix\" must be an array of server names");
    if (expect_char(s, ']')) return 1;
    for (;;) {
        alias_text server = {0};
        skip_ws(s);
        if (s->p >= s->end || *s->p != '"') return fail(s, "mcph.alias: \"unprefix\" must hold server names (strings)");
        if (!read_string(s, &server)) return 0;
        if (server.len == 0) { text_free(&server); return fail(s, "mcph.alias: \"unprefix\" names must not be empty"); }
        alias_text *grown = realloc(state->unprefix, (state->unprefix_count + 1) * sizeof *grown);
        if (grown == NULL) { text_free(&server); return fail(s, "mcph.alias settings: out of memory"); }
        state->unprefix = grown;
        state->unprefix[state->unprefix_count++] = server;
        if (expect_char(s, ']')) return 1;
        if (!expect_char(s, ',')) return fail(s, "mcph.alias settings: expected ',' or ']' in \"unprefix\"");
    }
}

/* Parses the whole settings object into `state`. 0 with a message in s->err on error. */
static int parse_settings(json_scanner *s, alias_state *state) {
    int seen_aliases = 0, seen_unprefix = 0;
    if (!expect_char(s, '{')) return fail(s, "mcph.alias settings must be an object such as {\"aliases\": {\"git__status\": \"status\"}}");
    if (!expect_char(s, '}')) {
        for (;;) {
            alias_text key = {0};
            if (!read_string(s, &key)) return 0;
            if (!expect_char(s, ':')) { text_free(&key); return fail(s, "mcph.alias settings: expected ':'"); }
            int ok;
            if (text_equals(&key, "aliases", 7) && !seen_aliases) {
                seen_aliases = 1;
                ok = parse_aliases(s, state);
            } else if (text_equals(&key, "unprefix", 8) && !seen_unprefix) {
                seen_unprefix = 1;
                ok = parse_unprefix(s, state);
            } else {
                char message[256];
                snprintf(message, sizeof message, "mcph.alias: unknown or repeated setting \"%.*s\"; expected \"aliases\" and/or \"unprefix\"",
                         (int)(key.len > 64 ? 64 : key.len), key.ptr);
                ok = fail(s, message);
            }
            text_free(&key);
            if (!ok) return 0;
            if (expect_char(s, '}')) break;
            if (!expect_char(s, ',')) return fail(s, "mcph.alias settings: expected ',' or '}'");
        }
    }
    skip_ws(s);
    if (s->p != s->end) return fail(s, "mcph.alias settings: text after the settings object");
    return 1;
}

/* ---- Router functions ------------------------------------------------------------------------ */

static int renames(mcph_item_kind kind) { return kind == MCPH_ITEM_TOOL || kind == MCPH_ITEM_PROMPT; }

/* Whether a name contains the namespace separator "__". */
static int has_separator(const char *name, size_t len) {
    for (size_t i = 0; i + 1 < len; i++) {
        if (name[i] == '_' && name[i + 1] == '_') return 1;
    }
    return 0;
}

static int32_t alias_expose(void *opaque, mcph_item_kind kind, const char *backend, size_t backend_len,
                            const char *name, size_t name_len, mcph_buf *out_name) {
    const alias_state *state = opaque;
    if (state != NULL && renames(kind)) {
        for (size_t i = 0; i < state->pair_count; i++) {
            if (text_equals(&state->pairs[i].from, name, name_len)) {
                const alias_text *to = &state->pairs[i].to;
                return buf_write2(out_name, to->ptr, to->len, NULL, 0) ? MCPH_EXPOSE_SHOW : MCPH_E_TOO_SMALL;
            }
        }
        for (size_t i = 0; i < state->unprefix_count; i++) {
            const alias_text *server = &state->unprefix[i];
            /* The item is the server's, and its name starts with SERVER__ and goes on. */
            if (text_equals(server, backend, backend_len) && name_len > server->len + 2 &&
                memcmp(name, server->ptr, server->len) == 0 && name[server->len] == '_' && name[server->len + 1] == '_') {
                size_t skip = server->len + 2;
                return buf_write2(out_name, name + skip, name_len - skip, NULL, 0) ? MCPH_EXPOSE_SHOW : MCPH_E_TOO_SMALL;
            }
        }
    }
    return buf_write2(out_name, name, name_len, NULL, 0) ? MCPH_EXPOSE_SHOW : MCPH_E_TOO_SMALL;
}

static mcph_route_decision alias_route(void *opaque, const char *method, size_t method_len, mcph_item_kind kind,
                                       const char *name, size_t name_len, mcph_buf *out_backend, mcph_buf *out_name,
                                       mcph_buf *out_message) {
    const alias_state *state = opaque;
    (void)method;
    (void)method_len;
    (void)out_message;
    if (state == NULL || !renames(kind)) return MCPH_ROUTE_DEFAULT;
    for (size_t i = 0; i < state->pair_count; i++) {
        if (text_equals(&state->pairs[i].to, name, name_len)) {
            const alias_text *from = &state->pairs[i].from;
            buf_write2(out_backend, NULL, 0, NULL, 0); /* no backend: the router before names it */
            buf_write2(out_name, from->ptr, from->len, NULL, 0); /* len says the size if it did not fit */
            return MCPH_ROUTE_FORWARD;
        }
    }
    /* An un-prefixed name maps back only when one server is un-prefixed and the name has no
     * prefix of its own; the host's catalog maps the rest once the lists are known. */
    if (state->unprefix_count == 1 && name_len > 0 && !has_separator(name, name_len) && out_name != NULL) {
        const alias_text *server = &state->unprefix[0];
        if (name_len > SIZE_MAX - server->len - 2) return MCPH_ROUTE_DEFAULT;
        size_t total = server->len + 2 + name_len;
        buf_write2(out_backend, NULL, 0, NULL, 0);
        out_name->len = total; /* the full size, also when it does not fit (the host asks again) */
        if (total <= out_name->cap && out_name->ptr != NULL) {
            memcpy(out_name->ptr, server->ptr, server->len);
            memcpy(out_name->ptr + server->len, "__", 2);
            memcpy(out_name->ptr + server->len + 2, name, name_len);
        }
        return MCPH_ROUTE_FORWARD;
    }
    return MCPH_ROUTE_DEFAULT;
}

static const mcph_router_v1 alias_router_table = {
    .struct_size = sizeof(mcph_router_v1),
    .expose = alias_expose,
    .route = alias_route,
    .allow = NULL, /* everything the chain exposes may be used by everyone */
};

/* ---- Lifecycle ------------------------------------------------------------------------------ */

static mcph_status alias_init(const mcph_host *host, void **out_state, char *err, size_t err_cap) {
    alias_state *state = calloc(1, sizeof *state);
    if (state == NULL) {
        set_error(err, err_cap, "mcph.alias: out of memory");
        return MCPH_E_FAILED;
    }
    const char *config = NULL;
    size_t config_len = 0;
    /* plugin_config exists since 1.4: a host whose struct ends before it gives no settings. */
    if (host != NULL && host->struct_size >= MCPH_SIZE_THROUGH(mcph_host, plugin_config_len)) {
        config = host->plugin_config;
        config_len = config != NULL ? host->plugin_config_len : 0;
    }
    if (config_len > ALIAS_MAX_SETTINGS_BYTES) {
        state_free(state);
        set_error(err, err_cap, "mcph.alias: settings larger than 1 MiB");
        return MCPH_E_INVALID;
    }
    if (config_len > 0) {
        json_scanner s = {(const unsigned char *)config, (const unsigned char *)config + config_len, err, err_cap};
        if (!parse_settings(&s, state)) {
            state_free(state);
            return MCPH_E_INVALID;
        }
    }
    if (host != NULL && host->log != NULL) {
        char line[160];
        int n = snprintf(line, sizeof line, "alias router: %zu alias(es), %zu un-prefixed server(s)", state->pair_count, state->unprefix_count);
        if (n > 0) host->log(host->ctx, MCPH_LOG_DEBUG, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
    *out_state = state;
    return MCPH_OK;
}

static const void *alias_get_interface(void *state, const char *iface_id) {
    (void)state;
    if (iface_id != NULL && strcmp(iface_id, MCPH_IFACE_ROUTER_V1) == 0) return &alias_router_table;
    return NULL;
}

static void alias_deinit(void *state) { state_free(state); }

static mcph_status alias_reconfigure(void *state, const char *config_json, size_t config_len, char *err, size_t err_cap) {
    (void)state;
    (void)config_json;
    (void)config_len;
    set_error(err, err_cap, "alias changes need a restart");
    return MCPH_E_UNSUPPORTED;
}

static const mcph_plugin_descriptor alias_descriptor = {
    .struct_size = sizeof(mcph_plugin_descriptor),
    .abi_major = MCPH_ABI_MAJOR,
    .abi_minor = MCPH_ABI_MINOR,
    .id = "mcph.alias",
    .name = "alias router",
    .version = "0.1.0",
    .description = "Renames chosen tools and prompts, or drops a server's prefix from them",
    .kinds = MCPH_KIND_ROUTER,
    .init = alias_init,
    .get_interface = alias_get_interface,
    .deinit = alias_deinit,
    .reconfigure = alias_reconfigure,
};

MCPH_EXPORT const mcph_plugin_descriptor *mcph_plugin_entry_v1(void) { return &alias_descriptor; }
