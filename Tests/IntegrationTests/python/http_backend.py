#!/usr/bin/env python3
"""A remote MCP server built with the official MCP Python SDK (v2, `MCPServer`), served over HTTP by
uvicorn on 127.0.0.1, for mcp-host's HTTP transport tests. Only the tools are ours; the transport
(Streamable HTTP or legacy HTTP+SSE), sessions and SSE framing are the SDK's.

    http_backend.py --port P [--transport streamable|sse|silent] [--token T | --oauth] [--json-response]
                    [--resumable] [--retry-ms N] [--ready-file F]

--port 0 picks a free port; the chosen port is written to --ready-file (atomically, once the
server accepts connections). Endpoints: streamable -> http://127.0.0.1:P/mcp; sse ->
http://127.0.0.1:P/sse (messages POSTed to /messages/?session_id=...).

--transport silent: no MCP at all, a listener that accepts connections and never answers (a hung server).

Tools: echo(text), sleep(seconds) -> "slept", progress(steps) (steps progress notifications and a
log message on the POST's SSE answer, then "done"), ask(prompt) (sampling request to the client;
returns the sampled text), who() (a marker unique to this process), hang() (never returns),
drop(steps) (with --resumable: reports progress 0, closes the POST's SSE stream, reports
1..steps at once, then steps+1 three seconds later, and answers "resumed"; the client must resume
with Last-Event-ID to see anything after progress 0). A resource test://readme and
a prompt greet(name).

--token T: every request without `Authorization: Bearer T` gets 401 with
`WWW-Authenticate: Bearer error="invalid_token"`. --oauth: every request gets 401 with
`WWW-Authenticate: Bearer resource_metadata="http://127.0.0.1:P/.well-known/oauth-protected-resource"`.
--resumable: an in-memory event store, so SSE events carry ids and dropped streams can be resumed.
Sessions are stateful: a restarted process answers 404 to an old session id.

On stderr: "http_backend MARKER listening on URL (TRANSPORT)" once ready, then "http_backend call TOOL"
as each tool call starts (tests use it to know a call reached the server).
"""
import argparse
import asyncio
import os
import sys
import time
import uuid
import warnings
from collections import deque

import uvicorn
from mcp import types
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http import EventCallback, EventMessage, EventStore

MARKER = f"{os.getpid()}-{time.time_ns()}"
# Logging and sampling are deprecated as of 2026-07-28, but mcp-host speaks 2025-11-25, where they are current.
warnings.filterwarnings("ignore", message=".*deprecated as of 2026-07-28.*")


class MemoryEventStore(EventStore):
    """The SDK's EventStore interface kept in memory, like the in-memory store of the SDK's own
    examples (v2 ships none outside its tests): every stored event gets a random id (uuid4, so ids
    never repeat across processes); replay sends the events of the same stream after the given
    id. Bounded: the oldest events are dropped past 10 000."""

    def __init__(self, limit: int = 10_000):
        self._events: deque[tuple[str, str, types.JSONRPCMessage | None]] = deque(maxlen=limit)

    async def store_event(self, stream_id, message):
        event_id = str(uuid.uuid4())
        self._events.append((event_id, stream_id, message))
        return event_id

    async def replay_events_after(self, last_event_id, send_callback: EventCallback):
        events = list(self._events)
        position = next((index for index, (event_id, _, _) in enumerate(events) if event_id == last_event_id), None)
        if position is None:
            return None
        stream = events[position][1]
        for event_id, stream_id, message in events[position + 1:]:
            if stream_id == stream and message is not None:
                await send_callback(EventMessage(message, event_id))
        return stream


def note(tool: str) -> None:
    """One stderr line per tool call as it starts, so a test can see that a call reached the server."""
    print(f"http_backend call {tool}", file=sys.stderr, flush=True)


def build_server() -> MCPServer:
    mcp = MCPServer("http-backend", instructions="mcp-host HTTP transport test server")

    @mcp.tool(description="Echoes text.")
    def echo(text: str) -> str:
        note("echo")
        return text

    @mcp.tool(description="Sleeps, then answers 'slept'.")
    async def sleep(seconds: float) -> str:
        note("sleep")
        await asyncio.sleep(seconds)
        return "slept"

    @mcp.tool(description="Reports progress `steps` times and logs a message, then answers 'done'.")
    async def progress(steps: int, ctx: Context) -> str:
        note("progress")
        for step in range(1, steps + 1):
            await ctx.report_progress(step, steps, f"step {step}")
        await ctx.log("info", f"progress finished after {steps} steps")
        return "done"

    @mcp.tool(description="Asks the client to sample a message; answers with the sampled text.")
    async def ask(prompt: str, ctx: Context) -> str:
        note("ask")
        result = await ctx.session.create_message(
            messages=[types.SamplingMessage(role="user", content=types.TextContent(type="text", text=prompt))],
            max_tokens=50,
            related_request_id=ctx.request_context.request_id,
        )
        content = result.content
        return "sampled: " + (content.text if isinstance(content, types.TextContent) else str(content))

    @mcp.tool(description="A marker unique to this server process (pid and start time).")
    def who() -> str:
        note("who")
        return MARKER

    @mcp.tool(description="Never answers.")
    async def hang() -> str:
        note("hang")
        await asyncio.Event().wait()
        return "unreachable"

    @mcp.tool(description="Closes this call's SSE stream, then reports progress and answers (needs --resumable).")
    async def drop(steps: int, ctx: Context) -> str:
        note("drop")
        # The SDK drops a message produced while a client's resumption GET is being registered (the
        # "replay -> live-tail window" its transport notes), so messages are produced either right
        # after the close (before any client can be back: they are replayed from the event store)
        # or well after it (live on the resumed stream), never around the reconnection.
        if ctx.request_context.close_sse_stream is None:
            # Without this the tool would "pass" without dropping anything.
            raise ValueError("cannot close this call's stream: the server needs --resumable and the POST an "
                             "MCP-Protocol-Version header of 2025-11-25 or later")
        await ctx.report_progress(0, steps + 1, "before the drop")
        await ctx.close_sse_stream()
        for step in range(1, steps + 1):
            await ctx.report_progress(step, steps + 1, f"replayed {step}")
        await asyncio.sleep(3)
        await ctx.report_progress(steps + 1, steps + 1, "live")
        return "resumed"

    @mcp.resource("test://readme", name="readme", description="A small text resource.")
    def readme() -> str:
        return "read me from " + MARKER

    @mcp.prompt(description="Greets someone.")
    def greet(name: str) -> str:
        return f"Hello, {name}!"

    return mcp


class BearerGate:
    """ASGI middleware: 401 for every HTTP request without the expected bearer token (or for every
    request at all in OAuth mode, pointing at protected-resource metadata)."""

    def __init__(self, app, token: str | None, oauth: bool, port_holder: list[int]):
        self.app, self.token, self.oauth, self.port_holder = app, token, oauth, port_holder

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.oauth:
            challenge = f'Bearer resource_metadata="http://127.0.0.1:{self.port_holder[0]}/.well-known/oauth-protected-resource"'
        else:
            headers = dict(scope.get("headers") or [])
            if headers.get(b"authorization", b"") == f"Bearer {self.token}".encode():
                return await self.app(scope, receive, send)
            challenge = 'Bearer error="invalid_token"'
        body = b'{"error":"invalid_token","error_description":"missing or wrong bearer token"}'
        await send({"type": "http.response.start", "status": 401, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", challenge.encode())]})
        await send({"type": "http.response.body", "body": body})


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--transport", choices=["streamable", "sse", "silent"], default="streamable",
                        help="silent: not MCP at all, a TCP listener that accepts and never answers")
    parser.add_argument("--token")
    parser.add_argument("--oauth", action="store_true")
    parser.add_argument("--json-response", action="store_true")
    parser.add_argument("--resumable", action="store_true")
    parser.add_argument("--retry-ms", type=int, default=200, help="SSE retry hint with --resumable (default 200)")
    parser.add_argument("--ready-file")
    args = parser.parse_args()

    if args.transport == "silent":
        return await silent(args.port, args.ready_file)
    mcp = build_server()
    if args.transport == "sse":
        app = mcp.sse_app()
    else:
        app = mcp.streamable_http_app(
            json_response=args.json_response,
            event_store=MemoryEventStore() if args.resumable else None,
            retry_interval=args.retry_ms if args.resumable else None,
        )
    port_holder = [args.port]
    if args.token or args.oauth:
        app = BearerGate(app, args.token, args.oauth, port_holder)

    config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # raises the reason (e.g. the port is in use)
            sys.exit("uvicorn stopped before it started")
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    port_holder[0] = port
    announce(port, args.transport, args.ready_file)
    await serving


def announce(port: int, transport: str, ready_file: str | None) -> None:
    print(f"http_backend {MARKER} listening on http://127.0.0.1:{port} ({transport})", file=sys.stderr, flush=True)
    if ready_file:
        temporary = ready_file + ".tmp"
        with open(temporary, "w") as f:
            f.write(str(port))
        os.replace(temporary, ready_file)


async def silent(port: int, ready_file: str | None) -> None:
    """A server that hangs: accepts every connection, reads what is sent, never answers."""
    held = []

    async def swallow(reader, writer):
        held.append(writer)
        note("silent connection")
        while await reader.read(65536):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", port, reuse_address=True)
    announce(server.sockets[0].getsockname()[1], "silent", ready_file)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
