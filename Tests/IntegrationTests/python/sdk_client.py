#!/usr/bin/env python3
"""Drives mcp-host with the official MCP Python SDK's high-level Client, in its default mode.

    sdk_client.py stdio HOST_BINARY PLUGINS_DIR CONFIG CALLS_JSON   (launches the host)
    sdk_client.py http URL CALLS_JSON                              (Streamable HTTP, e.g. .../mcp)
    sdk_client.py sse URL CALLS_JSON                               (legacy HTTP+SSE, e.g. .../sse)

CALLS_JSON is a list of [tool_name, arguments]. Prints one JSON report on stdout:
{"connect_seconds": ..., "tools": [...], "descriptions": {...}, "calls": [{"text": ..., "isError": ...}],
 "prompts": [...], "resources": [...]}.
"""
import asyncio
import json
import os
import sys
import time

from mcp import Client, StdioServerParameters, types
from mcp.client.sse import sse_client


async def sampling(context, params):
    """Answers sampling/createMessage requests (routed by mcp-host from a backend)."""
    prompt = params.messages[0].content.text
    return types.CreateMessageResult(role="assistant", content=types.TextContent(type="text", text="echo of " + prompt), model="test-model")


async def main():
    mode, calls = sys.argv[1], json.loads(sys.argv[-1])
    if mode == "stdio":
        host, plugins, config = sys.argv[2:5]
        # The whole environment (the SDK passes only a safe minimum by default): the test's
        # MCP_HOST_STATE_DIR keeps the host's catalog cache out of ~/.local/state.
        target = StdioServerParameters(command=host, args=["--plugins", plugins, "--config", config, "--log-level", "warning"],
                                       env=dict(os.environ))
    elif mode == "http":
        target = sys.argv[2]
    else:
        target = sse_client(sys.argv[2])
    started = time.monotonic()
    async with Client(target, sampling_callback=sampling) as client:
        connected = time.monotonic() - started
        tools = await client.list_tools()
        report = {
            "connect_seconds": connected,
            "tools": [t.name for t in tools.tools],
            "descriptions": {t.name: t.description for t in tools.tools},
            "calls": [],
        }
        results = await asyncio.gather(*(client.call_tool(name, args) for name, args in calls))
        for result in results:
            texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
            report["calls"].append({"text": "\n".join(texts), "isError": bool(result.is_error),
                                    "structured": result.structured_content})
        report["prompts"] = [p.name for p in (await client.list_prompts()).prompts]
        report["resources"] = [str(r.uri) for r in (await client.list_resources()).resources]
    print(json.dumps(report))


asyncio.run(main())
