/*
 * tcp_json.c — a small validating JSON scanner (see tcp_json.h): enough to check a whole config
 * object and read a few members, no more. No allocation; recursion bounded by JSON_MAX_DEPTH.
 */
#include "tcp_json.h"

#include <string.h>

void json_skip_ws(json_scanner *p) {
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r')) p->i++;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads 4 hex digits at p->i into *out. */
static bool read_hex4(json_scanner *p, unsigned *out) {
    if (p->n - p->i < 4) return false;
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        int d = hex_digit(p->s[p->i + (size_t)k]);
        if (d < 0) return false;
        v = (v << 4) | (unsigned)d;
    }
    p->i += 4;
    *out = v;
    return true;
}

/* Appends one byte to out (when given); counts it in *len even past cap (so overflow is seen). */
static void put(char *out, size_t cap, size_t *len, unsigned char byte) {
    if (out && *len < cap) out[*len] = (char)byte;
    (*len)++;
}

/*
 * Scans the string at p->i (which is at '"'), decoding it into out[0..cap) when out is given.
 * *out_len gets the decoded length (which may exceed cap: the caller checks). False if malformed.
 */
bool json_scan_string(json_scanner *p, char *out, size_t cap, size_t *out_len) {
    size_t len = 0;
    if (p->i >= p->n || p->s[p->i] != '"') return false;
    p->i++;
    while (p->i < p->n) {
        unsigned char c = (unsigned char)p->s[p->i++];
        if (c == '"') {
            *out_len = len;
            return true;
        }
        if (c < 0x20) return false; /* raw control characters are not allowed in JSON strings */
        if (c != '\\') {
            put(out, cap, &len, c);
            continue;
        }
        if (p->i >= p->n) return false;
        char e = p->s[p->i++];
        switch (e) {
        case '"': put(out, cap, &len, '"'); break;
        case '\\': put(out, cap, &len, '\\'); break;
        case '/': put(out, cap, &len, '/'); break;
        case 'b': put(out, cap, &len, '\b'); break;
        case 'f': put(out, cap, &len, '\f'); break;
        case 'n': put(out, cap, &len, '\n'); break;
        case 'r': put(out, cap, &len, '\r'); break;
        case 't': put(out, cap, &len, '\t'); break;
        case 'u': {
            unsigned cp;
            if (!read_hex4(p, &cp)) return false;
            if (cp >= 0xD800 && cp <= 0xDBFF) { /* a surrogate pair: \uD83D\uDE00 */
                unsigned low;
                if (p->n - p->i < 2 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u') return false;
                p->i += 2;
                if (!read_hex4(p, &low) || low < 0xDC00 || low > 0xDFFF) return false;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return false; /* a lone low surrogate */
            }
            if (cp < 0x80) {
                put(out, cap, &len, (unsigned char)cp);
            } else if (cp < 0x800) {
                put(out, cap, &len, (unsigned char)(0xC0 | (cp >> 6)));
                put(out, cap, &len, (unsigned char)(0x80 | (cp & 0x3F)));
            } else if (cp < 0x10000) {
                put(out, cap, &len, (unsigned char)(0xE0 | (cp >> 12)));
                put(out, cap, &len, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
                put(out, cap, &len, (unsigned char)(0x80 | (cp & 0x3F)));
            } else {
                put(out, cap, &len, (unsigned char)(0xF0 | (cp >> 18)));
                put(out, cap, &len, (unsigned char)(0x80 | ((cp >> 12) & 0x3F)));
                put(out, cap, &len, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
                put(out, cap, &len, (unsigned char)(0x80 | (cp & 0x3F)));
            }
            break;
        }
        default: return false;
        }
    }
    return false; /* unterminated */
}

bool json_is_digit(char c) { return c >= '0' && c <= '9'; }

/* Scans a number per the JSON grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool scan_number(json_scanner *p) {
    size_t i = p->i;
    if (i < p->n && p->s[i] == '-') i++;
    if (i >= p->n || !json_is_digit(p->s[i])) return false;
    if (p->s[i] == '0') i++;
    else while (i < p->n && json_is_digit(p->s[i])) i++;
    if (i < p->n && p->s[i] == '.') {
        i++;
        if (i >= p->n || !json_is_digit(p->s[i])) return false;
        while (i < p->n && json_is_digit(p->s[i])) i++;
    }
    if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
        i++;
        if (i < p->n && (p->s[i] == '+' || p->s[i] == '-')) i++;
        if (i >= p->n || !json_is_digit(p->s[i])) return false;
        while (i < p->n && json_is_digit(p->s[i])) i++;
    }
    p->i = i;
    return true;
}

static bool scan_literal(json_scanner *p, const char *word) {
    size_t len = strlen(word);
    if (p->n - p->i < len || memcmp(p->s + p->i, word, len) != 0) return false;
    p->i += len;
    return true;
}

/* Scans an object or array body after its opening bracket. */
static bool scan_container(json_scanner *p, int depth, bool object) {
    char close = object ? '}' : ']';
    json_skip_ws(p);
    if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
        return true;
    }
    for (;;) {
        json_skip_ws(p);
        if (object) {
            size_t ignored;
            if (!json_scan_string(p, NULL, 0, &ignored)) return false;
            json_skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != ':') return false;
            p->i++;
        }
        json_value member;
        if (!json_scan_value(p, depth + 1, &member)) return false;
        json_skip_ws(p);
        if (p->i >= p->n) return false;
        if (p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->s[p->i] == close) {
            p->i++;
            return true;
        }
        return false;
    }
}

bool json_scan_value(json_scanner *p, int depth, json_value *v) {
    if (depth > JSON_MAX_DEPTH) return false;
    json_skip_ws(p);
    if (p->i >= p->n) return false;
    v->start = p->i;
    v->present = true;
    size_t ignored;
    bool ok;
    switch (p->s[p->i]) {
    case '"': v->kind = J_STRING; ok = json_scan_string(p, NULL, 0, &ignored); break;
    case '{': v->kind = J_OBJECT; p->i++; ok = scan_container(p, depth, true); break;
    case '[': v->kind = J_ARRAY; p->i++; ok = scan_container(p, depth, false); break;
    case 't': v->kind = J_TRUE; ok = scan_literal(p, "true"); break;
    case 'f': v->kind = J_FALSE; ok = scan_literal(p, "false"); break;
    case 'n': v->kind = J_NULL; ok = scan_literal(p, "null"); break;
    default: v->kind = J_NUMBER; ok = scan_number(p); break;
    }
    v->end = p->i;
    return ok;
}

const char *json_kind_name(json_kind k) {
    switch (k) {
    case J_STRING: return "a string";
    case J_NUMBER: return "a number";
    case J_TRUE:
    case J_FALSE: return "a boolean";
    case J_NULL: return "null";
    case J_OBJECT: return "an object";
    case J_ARRAY: return "an array";
    }
    return "a value";
}

/*
 * A whole number from a JSON number (no fraction, no exponent, no sign) or a string of digits,
 * within [lo, hi]. Each digit is checked against hi before it is added, so no input can overflow.
 */
bool json_whole_number(const char *s, const json_value *v, uint64_t lo, uint64_t hi, uint64_t *out) {
    size_t a = v->start, b = v->end;
    if (v->kind == J_STRING) { /* "9000" (raw bytes between the quotes; escapes are not digits) */
        a++;
        b--;
    } else if (v->kind != J_NUMBER) {
        return false;
    }
    if (a >= b) return false;
    uint64_t value = 0;
    for (size_t i = a; i < b; i++) {
        if (!json_is_digit(s[i])) return false;
        uint64_t digit = (uint64_t)(s[i] - '0');
        if (digit > hi || value > (hi - digit) / 10) return false; /* value * 10 + digit > hi, checked before it could wrap */
        value = value * 10 + digit;
    }
    if (value < lo) return false;
    *out = value;
    return true;
}

/* Reads digits[.digits] at s[*i..n) as a double. False when there is no digit. */
bool json_read_decimal(const char *s, size_t n, size_t *i, double *out) {
    double value = 0, scale = 1;
    bool any = false;
    while (*i < n && json_is_digit(s[*i])) {
        if (value < 1e300) value = value * 10 + (s[*i] - '0');
        (*i)++;
        any = true;
    }
    if (*i < n && s[*i] == '.') {
        (*i)++;
        while (*i < n && json_is_digit(s[*i])) {
            scale /= 10;
            value += (s[*i] - '0') * scale;
            (*i)++;
            any = true;
        }
    }
    *out = value;
    return any;
}

/* A JSON number as a double (sign, fraction, exponent), for "connect_timeout": 2.5. */
bool json_number_value(const char *s, const json_value *v, double *out) {
    size_t i = v->start, n = v->end;
    bool negative = i < n && s[i] == '-';
    if (negative) i++;
    double value;
    if (!json_read_decimal(s, n, &i, &value)) return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool down = i < n && s[i] == '-';
        if (i < n && (s[i] == '-' || s[i] == '+')) i++;
        int exponent = 0;
        while (i < n && json_is_digit(s[i])) {
            if (exponent < 1000) exponent = exponent * 10 + (s[i] - '0');
            i++;
        }
        for (int k = 0; k < exponent && value != 0 && value < 1e300; k++) value = down ? value / 10 : value * 10;
    }
    *out = negative ? -value : value;
    return true;
}

