#!/usr/bin/env python3
"""Drives mcp-host with the official MCP Python SDK's high-level Client, in its default mode.

    sdk_client.py HOST_BINARY PLUGINS_DIR CONFIG CALLS_JSON

CALLS_JSON is a list of [tool_name, arguments]. Prints one JSON report on stdout:
{"connect_seconds": ..., "tools": [...], "descriptions": {...}, "calls": [{"text": ..., "isError": ...}],
 "prompts": [...], "resources": [...]}.
"""
import asyncio
import json
import sys
import time

from mcp import Client, StdioServerParameters


async def main():
    host, plugins, config, calls = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    params = StdioServerParameters(command=host, args=["--plugins", plugins, "--config", config, "--log-level", "warning"])
    started = time.monotonic()
    async with Client(params) as client:
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
