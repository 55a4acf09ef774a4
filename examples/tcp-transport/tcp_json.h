/*
 * tcp_json.h — a small validating JSON scanner for the TCP transport's config (internal).
 *
 * It walks JSON text without building anything: a value's kind and byte range, strings decoded on
 * request (escapes and \u surrogate pairs to UTF-8), numbers read without strtod (so the process
 * locale cannot change what "1.5" means). Pure: no allocation, no globals, any thread.
 */
#ifndef MCPH_TCP_JSON_H
#define MCPH_TCP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Objects and arrays nested deeper than this are refused (the scanner recurses). */
#define JSON_MAX_DEPTH 64

typedef enum { J_STRING, J_NUMBER, J_TRUE, J_FALSE, J_NULL, J_OBJECT, J_ARRAY } json_kind;

/* The input s[0..n) and the position i of the next byte to read. */
typedef struct json_scanner {
    const char *s;
    size_t n;
    size_t i;
} json_scanner;

/* A value's kind and its bytes in the input (for a string: with its quotes). */
typedef struct json_value {
    json_kind kind;
    size_t start, end;
    bool present;
} json_value;

void json_skip_ws(json_scanner *p);
bool json_is_digit(char c);

/*
 * Scans the string at p->i (which must be at '"'), decoding it into out[0..cap) when out is not
 * NULL. *out_len gets the decoded length, which may exceed cap (the caller checks). False if malformed.
 */
bool json_scan_string(json_scanner *p, char *out, size_t cap, size_t *out_len);

/* Scans (and validates) one value of any kind at p->i, after whitespace; fills *v. */
bool json_scan_value(json_scanner *p, int depth, json_value *v);

/* "a string", "a number", ... for messages. */
const char *json_kind_name(json_kind k);

/*
 * A whole number from a JSON number (no fraction, exponent or sign) or a string of digits, within
 * [lo, hi] (any hi). Each digit is checked against hi before it is added: no input can overflow.
 */
bool json_whole_number(const char *s, const json_value *v, uint64_t lo, uint64_t hi, uint64_t *out);

/* Reads digits[.digits] at s[*i..n) as a double, advancing *i. False when there is no digit. */
bool json_read_decimal(const char *s, size_t n, size_t *i, double *out);

/* A JSON number value (sign, fraction, exponent) as a double. */
bool json_number_value(const char *s, const json_value *v, double *out);

#endif
