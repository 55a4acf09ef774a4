#!/usr/bin/env bash
# Two mcp-host replicas (a, b) behind HAProxy, for a manual try of examples/haproxy/haproxy.cfg.
#
#   swift build && examples/haproxy/run.sh [servers.json]
#
# Clients: http://127.0.0.1:7330/mcp (Streamable HTTP), http://127.0.0.1:7330/sse (legacy).
# HAProxy's status page: http://127.0.0.1:7339/stats. Each host's own /health:
# http://127.0.0.1:7333/health (a) and http://127.0.0.1:7334/health (b).
# Ctrl-C stops HAProxy and both hosts (each host stops its backends); a host killed meanwhile stays
# dead, so a failover can be watched. Ports and binary come from
# MCPH_LB_BIND, MCPH_LB_STATS, MCPH_HOST_A, MCPH_HOST_B and MCP_HOST (default .build/debug/mcp-host;
# with a release build also set MCP_HOST_EXAMPLE_SERVER=.build/release/mcp-example-server for
# examples/servers.json).
set -euo pipefail
cd "$(dirname "$0")/../.."

config=${1:-examples/servers.json}
host_bin=${MCP_HOST:-.build/debug/mcp-host}
export MCPH_LB_BIND=${MCPH_LB_BIND:-127.0.0.1:7330}
export MCPH_LB_STATS=${MCPH_LB_STATS:-127.0.0.1:7339}
export MCPH_HOST_A=${MCPH_HOST_A:-127.0.0.1:7333}
export MCPH_HOST_B=${MCPH_HOST_B:-127.0.0.1:7334}

command -v haproxy >/dev/null || { echo "run.sh: haproxy is not installed (Debian/Ubuntu: apt-get install haproxy)" >&2; exit 1; }
[ -x "$host_bin" ] || { echo "run.sh: $host_bin not found; run 'swift build' first or set MCP_HOST" >&2; exit 1; }

# Each replica gets its own state directory (catalog cache): $MCP_HOST_STATE_DIR/a and /b when
# MCP_HOST_STATE_DIR is set, else a temporary directory removed on exit.
state=$(mktemp -d "${TMPDIR:-/tmp}/mcph-haproxy.XXXXXX")
state_root=${MCP_HOST_STATE_DIR:-$state}
pids=()
cleanup() {
    trap - EXIT INT TERM
    # TERM lets each host stop its backends; then wait for them.
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for replica in a b; do
    if [ "$replica" = a ]; then address=$MCPH_HOST_A; else address=$MCPH_HOST_B; fi
    MCP_HOST_STATE_DIR=$state_root/$replica \
        "$host_bin" serve --plugins plugins.d --config "$config" --http "$address" --replica-id "$replica" \
        2> >(sed -u "s/^/[$replica] /" >&2) &
    pids+=($!)
done
haproxy -f examples/haproxy/haproxy.cfg -db 2> >(sed -u 's/^/[haproxy] /' >&2) &
pids+=($!)

echo "run.sh: host a (pid ${pids[0]}, $MCPH_HOST_A) and host b (pid ${pids[1]}, $MCPH_HOST_B) behind HAProxy at http://$MCPH_LB_BIND/mcp; Ctrl-C stops all" >&2
echo "run.sh: try a failover with 'kill -9 ${pids[0]}': host a's sessions then get 404, and a client that initializes again continues on b" >&2
# Runs until Ctrl-C or until HAProxy exits; a host that dies is left dead (that is the experiment).
wait "${pids[2]}"
