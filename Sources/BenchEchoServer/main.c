/*
 * mcp-bench-echo: the fastest MCP server we can write, for measuring mcp-host's own overhead.
 * Stdio, one JSON-RPC message per line; answers initialize, tools/list (one tool, "echo") and
 * tools/call with a fixed result, echoing the request's id. Not a general server: it finds "id"
 * and "method" by plain text search, which is enough for the benchmark's own compact requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int field(const char *line, const char *key, char *out, size_t cap) {
    const char *at = strstr(line, key);
    if (!at) return 0;
    at += strlen(key);
    while (*at == ' ' || *at == ':') at++;
    size_t n = 0;
    if (*at == '"') {
        out[n++] = *at++;
        while (*at && *at != '"' && n + 2 < cap) out[n++] = *at++;
        if (*at == '"') out[n++] = '"';
    } else {
        while (*at && *at != ',' && *at != '}' && n + 1 < cap) out[n++] = *at++;
    }
    out[n] = 0;
    return n > 0;
}

int main(void) {
    char *line = NULL;
    size_t cap = 0;
    char id[64], method[64];
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    while (getline(&line, &cap, stdin) > 0) {
        if (!field(line, "\"method\"", method, sizeof method)) continue;
        if (!field(line, "\"id\"", id, sizeof id)) continue; /* notifications need no answer */
        if (strcmp(method, "\"tools/call\"") == 0)
            printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"hello, benchmark\"}],\"isError\":false}}\n", id);
        else if (strcmp(method, "\"initialize\"") == 0)
            printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"mcp-bench-echo\",\"version\":\"1\"}}}\n", id);
        else if (strcmp(method, "\"tools/list\"") == 0)
            printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"tools\":[{\"name\":\"echo\",\"inputSchema\":{\"type\":\"object\"}}]}}\n", id);
        else
            printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-32601,\"message\":\"Method not found\"}}\n", id);
        /* Flush when no more input is already buffered, so pipelined requests share writes. */
        if (stdin->_IO_read_ptr >= stdin->_IO_read_end) fflush(stdout);
    }
    fflush(stdout);
    free(line);
    return 0;
}
