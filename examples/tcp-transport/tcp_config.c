/*
 * tcp_config.c — the TCP transport's settings, read with tcp_json.h (see tcp_config.h).
 *
 * Accepted keys (everything else is ignored):
 *   "host"                string, required: a host name or an IP address ("127.0.0.1", "::1", "[::1]")
 *   "port"                whole number 1..65535, required (also a string of digits, as a ${VAR} gives)
 *   "connect_timeout"     duration ("500ms", "10s", "1m") or number of seconds, 1ms..1h; default 10s
 *   "reconnect"           true/false; default true
 *   "send_queue_messages" whole number 1..65536; default 1024
 *   "send_queue_bytes"    whole number 1024..1073741824; default 16777216
 * Numbers are read without strtod, so the process locale cannot change what "1.5" means. Error
 * messages name the key but never echo its value: a ${VAR} may have put a secret there.
 */
#include "tcp_config.h"

#include "tcp_json.h"

#include <stdio.h>
#include <string.h>

/* ---- Durations ------------------------------------------------------------------------------- */

/* Seconds to nanoseconds within the connect_timeout bounds; false when out of them. */
static bool seconds_to_ns(double seconds, uint64_t *out) {
    if (!(seconds >= 0) || seconds > 3600.0 * 24 * 365) return false; /* also refuses NaN */
    double ns = seconds * 1e9 + 0.5;
    *out = (uint64_t)ns;
    return true;
}

bool tcp_parse_duration(const char *text, size_t len, uint64_t *out_ns, char *err, size_t err_cap) {
    size_t a = 0, b = len;
    while (a < b && (text[a] == ' ' || text[a] == '\t')) a++;
    while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t')) b--;
    if (a == b) {
        snprintf(err, err_cap, "is empty");
        return false;
    }
    if (text[a] == '-') {
        snprintf(err, err_cap, "is negative");
        return false;
    }
    double total = 0;
    size_t i = a;
    bool first = true;
    while (i < b) {
        double number;
        if (!json_read_decimal(text, b, &i, &number)) {
            snprintf(err, err_cap, "is not a duration");
            return false;
        }
        double unit;
        if (i == b && first) {
            unit = 1; /* a bare number is seconds */
        } else if (b - i >= 2 && text[i] == 'm' && text[i + 1] == 's') {
            unit = 0.001;
            i += 2;
        } else if (i < b && text[i] == 's') {
            unit = 1;
            i++;
        } else if (i < b && text[i] == 'm') {
            unit = 60;
            i++;
        } else if (i < b && text[i] == 'h') {
            unit = 3600;
            i++;
        } else if (i < b && text[i] == 'd') {
            unit = 86400;
            i++;
        } else if (i == b) {
            snprintf(err, err_cap, "has a number without a unit after another part");
            return false;
        } else {
            snprintf(err, err_cap, "has an unknown unit (units: ms, s, m, h, d)");
            return false;
        }
        total += number * unit;
        first = false;
    }
    if (!seconds_to_ns(total, out_ns)) {
        snprintf(err, err_cap, "is too long");
        return false;
    }
    return true;
}

/* ---- The settings ---------------------------------------------------------------------------- */

static bool key_is(const char *key, size_t len, const char *name) {
    return strlen(name) == len && memcmp(key, name, len) == 0;
}

bool tcp_config_parse(const char *json, size_t len, tcp_config *out, char *err, size_t err_cap) {
    json_scanner p = {json, json ? len : 0, 0};
    json_value host = {0}, port = {0}, timeout = {0}, reconnect = {0}, qmsgs = {0}, qbytes = {0};

    json_skip_ws(&p);
    if (p.i >= p.n || p.s[p.i] != '{') {
        snprintf(err, err_cap, "tcp: the connection config is not a JSON object");
        return false;
    }
    p.i++;
    json_skip_ws(&p);
    bool done = p.i < p.n && p.s[p.i] == '}'; /* the closing brace was reached */
    if (done) p.i++;
    while (!done) {
        json_skip_ws(&p);
        char key[32];
        size_t key_len;
        if (!json_scan_string(&p, key, sizeof key, &key_len)) break;
        if (key_len > sizeof key) key_len = 0; /* longer than any key we know: ignored */
        json_skip_ws(&p);
        if (p.i >= p.n || p.s[p.i] != ':') break;
        p.i++;
        json_value v = {0};
        if (!json_scan_value(&p, 1, &v)) break;
        if (key_is(key, key_len, "host")) host = v;
        else if (key_is(key, key_len, "port")) port = v;
        else if (key_is(key, key_len, "connect_timeout")) timeout = v;
        else if (key_is(key, key_len, "reconnect")) reconnect = v;
        else if (key_is(key, key_len, "send_queue_messages")) qmsgs = v;
        else if (key_is(key, key_len, "send_queue_bytes")) qbytes = v;
        json_skip_ws(&p);
        if (p.i < p.n && p.s[p.i] == ',') {
            p.i++;
            continue;
        }
        if (p.i < p.n && p.s[p.i] == '}') {
            p.i++;
            done = true;
            break;
        }
        break;
    }
    json_skip_ws(&p);
    if (!done || p.i != p.n) {
        snprintf(err, err_cap, "tcp: the connection config is not valid JSON (at byte %zu)", p.i);
        return false;
    }

    memset(out, 0, sizeof *out);
    out->connect_timeout_ns = TCP_DEFAULT_CONNECT_TIMEOUT_NS;
    out->reconnect = true;
    out->queue_messages = TCP_DEFAULT_QUEUE_MESSAGES;
    out->queue_bytes = TCP_DEFAULT_QUEUE_BYTES;

    /* "host" */
    if (!host.present) {
        snprintf(err, err_cap, "tcp: \"host\" is missing: give the server's host name or IP address, e.g. \"127.0.0.1\"");
        return false;
    }
    if (host.kind != J_STRING) {
        snprintf(err, err_cap, "tcp: \"host\" must be a string (a host name or IP address), not %s", json_kind_name(host.kind));
        return false;
    }
    json_scanner hs = {json, host.end, host.start};
    size_t host_len;
    json_scan_string(&hs, out->host, sizeof out->host - 1, &host_len); /* validated above */
    if (host_len == 0 || host_len > TCP_HOST_MAX) {
        snprintf(err, err_cap, "tcp: \"host\" must be a host name or IP address of 1 to %d bytes", TCP_HOST_MAX);
        return false;
    }
    out->host[host_len] = '\0';
    for (size_t i = 0; i < host_len; i++) {
        unsigned char c = (unsigned char)out->host[i];
        if (c <= 0x20 || c == 0x7F || c == '/') {
            snprintf(err, err_cap, "tcp: \"host\" must be a bare host name or IP address (no spaces, control characters, "
                                   "scheme or path), e.g. \"127.0.0.1\" or \"mcp.internal\"");
            return false;
        }
    }
    if (out->host[0] == '[' && host_len >= 3 && out->host[host_len - 1] == ']') { /* "[::1]" -> "::1" */
        memmove(out->host, out->host + 1, host_len - 2);
        out->host[host_len - 2] = '\0';
    }

    /* "port" */
    uint64_t value;
    if (!port.present) {
        snprintf(err, err_cap, "tcp: \"port\" is missing: give the server's TCP port, a whole number from 1 to 65535");
        return false;
    }
    if (!json_whole_number(json, &port, 1, 65535, &value)) {
        if (port.kind == J_NUMBER || port.kind == J_STRING)
            snprintf(err, err_cap, "tcp: \"port\" must be a whole number from 1 to 65535, e.g. 9000");
        else
            snprintf(err, err_cap, "tcp: \"port\" must be a whole number from 1 to 65535, e.g. 9000, not %s", json_kind_name(port.kind));
        return false;
    }
    out->port = (uint16_t)value;

    /* "connect_timeout" */
    if (timeout.present) {
        char why[160] = "";
        bool ok = false;
        uint64_t ns = 0;
        if (timeout.kind == J_STRING) {
            char text[64];
            json_scanner ts = {json, timeout.end, timeout.start};
            size_t text_len;
            json_scan_string(&ts, text, sizeof text, &text_len);
            if (text_len > sizeof text) snprintf(why, sizeof why, "is too long to be a duration");
            else ok = tcp_parse_duration(text, text_len, &ns, why, sizeof why);
        } else if (timeout.kind == J_NUMBER) {
            double seconds;
            ok = json_number_value(json, &timeout, &seconds) && seconds_to_ns(seconds, &ns);
            if (!ok) snprintf(why, sizeof why, "is not a number of seconds");
        } else {
            snprintf(why, sizeof why, "must be a string such as \"10s\" or a number of seconds, not %s", json_kind_name(timeout.kind));
        }
        if (ok && (ns < TCP_MIN_CONNECT_TIMEOUT_NS || ns > TCP_MAX_CONNECT_TIMEOUT_NS)) {
            ok = false;
            snprintf(why, sizeof why, "is out of range");
        }
        if (!ok) {
            snprintf(err, err_cap, "tcp: \"connect_timeout\" %s; give a duration from 1ms to 1h, such as \"500ms\", \"10s\" or "
                                   "\"5m\" (a bare number is seconds)", why);
            return false;
        }
        out->connect_timeout_ns = ns;
    }

    /* "reconnect" */
    if (reconnect.present) {
        if (reconnect.kind != J_TRUE && reconnect.kind != J_FALSE) {
            snprintf(err, err_cap, "tcp: \"reconnect\" must be true or false, not %s", json_kind_name(reconnect.kind));
            return false;
        }
        out->reconnect = reconnect.kind == J_TRUE;
    }

    /* "send_queue_messages", "send_queue_bytes" */
    if (qmsgs.present) {
        if (!json_whole_number(json, &qmsgs, 1, TCP_MAX_QUEUE_MESSAGES, &value)) {
            snprintf(err, err_cap, "tcp: \"send_queue_messages\" must be a whole number from 1 to %u", TCP_MAX_QUEUE_MESSAGES);
            return false;
        }
        out->queue_messages = (uint32_t)value;
    }
    if (qbytes.present) {
        if (!json_whole_number(json, &qbytes, TCP_MIN_QUEUE_BYTES, TCP_MAX_QUEUE_BYTES, &value)) {
            snprintf(err, err_cap, "tcp: \"send_queue_bytes\" must be a whole number of bytes from %u to %u",
                     TCP_MIN_QUEUE_BYTES, TCP_MAX_QUEUE_BYTES);
            return false;
        }
        out->queue_bytes = (uint32_t)value;
    }
    return true;
}
