-- mcp-session.lua: wrk script driving MCP Streamable HTTP (tools/call over JSON answers), to
-- cross-check mcp-bench-load's figures with an independent tool.
--
-- Usage:
--   wrk -t1 -c64 -d10s -s scripts/wrk/mcp-session.lua http://127.0.0.1:PORT/mcp
-- Environment (optional): MCP_TOOL (default example__echo), MCP_ARGUMENTS (a JSON object, default
-- {"text":"hello, benchmark"}), MCP_BEARER (sent as Authorization: Bearer ...).
--
-- Each connection's first request is POST initialize; its answer's Mcp-Session-Id is taken, then
-- POST notifications/initialized (202), then tools/call after tools/call with that session id.
-- wrk tells a script nothing about which connection a request or response is on, so the session
-- follows the request chain instead: every response decides the one request that comes next
-- (kept in a FIFO per thread: wrk asks for the next request of a connection after its response),
-- and a call's id says which session it belongs to. Every session thus gets exactly one request in
-- flight and the protocol order initialize -> initialized -> calls; sessions equal connections.
--
-- At the end (`done`) it prints, besides wrk's own summary: tool calls answered, calls/s, errors
-- (HTTP status other than 200, or a JSON-RPC "error" in the body), sessions opened, and failed
-- session openings. wrk's "Requests/sec" also counts the few initialize/initialized requests.
--
-- Bounds: the FIFO holds one entry per connection (one per response, one taken per request); the
-- in-flight id table one entry per connection, plus one leaked entry per call whose answer had no
-- id (counted as an error).

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

local tool = os.getenv("MCP_TOOL") or "example__echo"
local arguments = os.getenv("MCP_ARGUMENTS") or '{"text":"hello, benchmark"}'
local bearer = os.getenv("MCP_BEARER")

local init_body = '{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-06-18",'
   .. '"capabilities":{},"clientInfo":{"name":"wrk-mcp-session","version":"1"}}}'
local initialized_body = '{"jsonrpc":"2.0","method":"notifications/initialized"}'
local call_prefix = '{"jsonrpc":"2.0","id":'
local call_suffix = ',"method":"tools/call","params":{"name":"' .. tool .. '","arguments":' .. arguments .. '}}'

local function base_headers()
   local h = { ["Content-Type"] = "application/json", ["Accept"] = "application/json, text/event-stream" }
   if bearer then h["Authorization"] = "Bearer " .. bearer end
   return h
end

function init(args)
   -- Per-thread state (globals of this thread's Lua state; `done` reads them with thread:get).
   calls, errors, status_errors, rpc_errors, sessions, init_errors = 0, 0, 0, 0, 0, 0
   queue, qhead, qtail = {}, 1, 0       -- what the next requests send
   notifying, nhead, ntail = {}, 1, 0   -- sessions whose notifications/initialized is in flight
   inflight = {}                        -- call id -> session id
   headers_of = {}                      -- session id -> its header table (reused)
   next_id = 0
end

local function push(entry)
   qtail = qtail + 1
   queue[qtail] = entry
end

local function session_headers(sid)
   local h = headers_of[sid]
   if not h then
      h = base_headers()
      h["Mcp-Session-Id"] = sid
      h["MCP-Protocol-Version"] = "2025-06-18"
      headers_of[sid] = h
   end
   return h
end

function request()
   local e = nil
   if qhead <= qtail then
      e = queue[qhead]
      queue[qhead] = nil
      qhead = qhead + 1
   end
   if e == nil or e.kind == "init" then -- a new connection, or a session opening that failed
      return wrk.format("POST", nil, base_headers(), init_body)
   end
   if e.kind == "initialized" then
      ntail = ntail + 1
      notifying[ntail] = e.sid
      return wrk.format("POST", nil, session_headers(e.sid), initialized_body)
   end
   next_id = next_id + 1
   inflight[next_id] = e.sid
   return wrk.format("POST", nil, session_headers(e.sid), call_prefix .. next_id .. call_suffix)
end

local function header(headers, name)
   for k, v in pairs(headers) do
      if string.lower(k) == name then return v end
   end
   return nil
end

function response(status, headers, body)
   local id = body and tonumber(string.match(body, '"id"%s*:%s*(%d+)'))
   local sid = id and inflight[id]
   if sid then -- the answer to a tool call
      inflight[id] = nil
      calls = calls + 1
      if status ~= 200 then
         errors = errors + 1
         status_errors = status_errors + 1
      elseif string.find(body, '"error"', 1, true) then
         errors = errors + 1
         rpc_errors = rpc_errors + 1
      end
      push({ kind = "call", sid = sid })
      return
   end
   if status == 202 and nhead <= ntail then -- notifications/initialized accepted
      local s = notifying[nhead]
      notifying[nhead] = nil
      nhead = nhead + 1
      push({ kind = "call", sid = s })
      return
   end
   local new_sid = header(headers, "mcp-session-id")
   if status == 200 and new_sid then -- the answer to initialize
      sessions = sessions + 1
      push({ kind = "initialized", sid = new_sid })
      return
   end
   -- Anything else: a failed initialize, or an answer that names no call. Count it and open a
   -- new session on the connection that asks next.
   init_errors = init_errors + 1
   push({ kind = "init" })
end

function done(summary, latency, requests)
   local c, e, se, re, s, ie = 0, 0, 0, 0, 0, 0
   for _, t in ipairs(threads) do
      c = c + t:get("calls")
      e = e + t:get("errors")
      se = se + t:get("status_errors")
      re = re + t:get("rpc_errors")
      s = s + t:get("sessions")
      ie = ie + t:get("init_errors")
   end
   local seconds = summary.duration / 1e6
   io.write(string.format("mcp-session.lua: %d tool calls answered in %.3f s = %.1f calls/s; errors: %d (status %d, jsonrpc %d); "
      .. "sessions opened: %d, failed openings or unmatched answers: %d\n", c, seconds, c / seconds, e, se, re, s, ie))
   io.write(string.format("mcp-session.lua: latency (all requests, wrk's histogram): p50 %.1f us, p99 %.1f us, max %.1f us\n",
      latency:percentile(50), latency:percentile(99), latency.max))
end
