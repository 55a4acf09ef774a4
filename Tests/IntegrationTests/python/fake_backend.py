#!/usr/bin/env python3
"""A scriptable MCP backend over stdio for mcp-host's integration tests (standard library only).

Every message it receives is appended, one JSON per line, to $FAKE_BACKEND_LOG (if set), so a
test can check what reached the backend (ids, cancellations, progress tokens).

Tools:
  echo {text}            -> text content
  slow {ms}              -> waits, then answers (concurrently: each call on its own thread)
  fidelity {}            -> a result with structuredContent, _meta and a field no spec names,
                            written with unusual spacing so byte-for-byte forwarding is visible
  progress {steps, ms}   -> sends notifications/progress with the request's progressToken
  crash {}               -> exits the process while the call is in flight
  garbage {}             -> writes a non-JSON line instead of an answer
  pid {}                 -> its own process id
  fail {}                -> a tool error (isError: true)
  spam {count, size}     -> sends count notifications/message of about size bytes, then answers
  touch {uri}            -> sends notifications/resources/updated for uri, then answers
  sample {prompt}        -> asks the client (sampling/createMessage, through the host) and answers
                            with the client's text, or with the error it got

$FAKE_BACKEND_LIST_DELAY_MS delays the answer to tools/list (a slow backend);
$FAKE_BACKEND_INIT_DELAY_MS delays the answer to initialize (a slow start);
$FAKE_BACKEND_EXIT_AFTER_INIT names a file holding a count N: while N > 0, each start decrements it
  and exits right after answering initialize;
$FAKE_BACKEND_EXTRA_TOOL adds a tool of that name, answering "extra NAME";
$FAKE_BACKEND_RESOURCES_DELAY_MS delays resources/list and resources/templates/list;
$FAKE_BACKEND_READ_DELAY_MS delays resources/read;
$FAKE_BACKEND_PAGE_SIZE makes tools/list paginate (nextCursor) with that many tools a page;
$FAKE_BACKEND_TOOLS_FILE names a file read at each tools/list: each non-empty line adds a tool of
  that name (answering "extra NAME"), so a test changes the tools without changing the config; the
  tool announce {} then sends notifications/tools/list_changed.
"""
import json
import os
import sys
import threading
import time

LOG = os.environ.get("FAKE_BACKEND_LOG")
NAME = os.environ.get("FAKE_BACKEND_NAME", "fake")
out_lock = threading.Lock()
answers = {}          # id of a request we sent -> [event, response]
answers_lock = threading.Lock()
next_request = [0]


def log(message):
    if LOG:
        with open(LOG, "a") as f:
            f.write(json.dumps(message) + "\n")


def send_raw(line):
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def send(message):
    send_raw(json.dumps(message, separators=(",", ":")))


def result(id_, value):
    send({"jsonrpc": "2.0", "id": id_, "result": value})


def text(value):
    return {"content": [{"type": "text", "text": value}], "isError": False}


TOOLS = [
    {"name": "echo", "description": "Echoes text.\nSecond line.", "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}},
     "annotations": {"readOnlyHint": True}, "x-vendor": {"kept": 1}},
    {"name": "slow", "description": "Answers after ms milliseconds.", "inputSchema": {"type": "object", "properties": {"ms": {"type": "integer"}}}},
    {"name": "fidelity", "description": "Unusual result fields.", "inputSchema": {"type": "object"}},
    {"name": "progress", "description": "Reports progress.", "inputSchema": {"type": "object"}},
    {"name": "crash", "description": "Exits mid-call.", "inputSchema": {"type": "object"}},
    {"name": "garbage", "description": "Writes garbage.", "inputSchema": {"type": "object"}},
    {"name": "pid", "description": "Its process id.", "inputSchema": {"type": "object"}},
    {"name": "fail", "description": "A tool error.", "inputSchema": {"type": "object"}},
    {"name": "sample", "description": "Asks the client to sample.", "inputSchema": {"type": "object"}},
    {"name": "touch", "description": "Reports a resource update.", "inputSchema": {"type": "object"}},
]
LIST_DELAY = int(os.environ.get("FAKE_BACKEND_LIST_DELAY_MS", "0")) / 1000.0
PAGE_SIZE = int(os.environ.get("FAKE_BACKEND_PAGE_SIZE", "0"))
INIT_DELAY = int(os.environ.get("FAKE_BACKEND_INIT_DELAY_MS", "0")) / 1000.0
EXIT_AFTER_INIT = os.environ.get("FAKE_BACKEND_EXIT_AFTER_INIT")
EXTRA_TOOL = os.environ.get("FAKE_BACKEND_EXTRA_TOOL")
if EXTRA_TOOL:
    TOOLS.append({"name": EXTRA_TOOL, "description": "The extra tool.", "inputSchema": {"type": "object"}})
RESOURCES_DELAY = int(os.environ.get("FAKE_BACKEND_RESOURCES_DELAY_MS", "0")) / 1000.0
READ_DELAY = int(os.environ.get("FAKE_BACKEND_READ_DELAY_MS", "0")) / 1000.0


def exit_after_init_due():
    """True (and the count decremented) when this start is one that must exit after initialize."""
    if not EXIT_AFTER_INIT or not os.path.exists(EXIT_AFTER_INIT):
        return False
    with open(EXIT_AFTER_INIT) as f:
        count = int(f.read().strip() or "0")
    if count <= 0:
        return False
    with open(EXIT_AFTER_INIT, "w") as f:
        f.write(str(count - 1))
    return True


def later(delay, function, *args):
    if delay:
        threading.Timer(delay, function, args=args).start()
    else:
        function(*args)


TOOLS_FILE = os.environ.get("FAKE_BACKEND_TOOLS_FILE")


def file_tools():
    """Tool names from $FAKE_BACKEND_TOOLS_FILE (none when unset or missing)."""
    if not TOOLS_FILE or not os.path.exists(TOOLS_FILE):
        return []
    with open(TOOLS_FILE) as f:
        return [line.strip() for line in f if line.strip()]


def all_tools():
    extra = [{"name": n, "description": "A tool from the tools file.", "inputSchema": {"type": "object"}} for n in file_tools()]
    announce = [{"name": "announce", "description": "Sends tools/list_changed.", "inputSchema": {"type": "object"}}] if TOOLS_FILE else []
    return TOOLS + announce + extra


def tools_page(params):
    tools = all_tools()
    if not PAGE_SIZE:
        return {"tools": tools}
    start = int((params or {}).get("cursor") or 0)
    page = {"tools": tools[start:start + PAGE_SIZE]}
    if start + PAGE_SIZE < len(tools):
        page["nextCursor"] = str(start + PAGE_SIZE)
    return page

FIDELITY = '{"jsonrpc":"2.0","id":%s,"result":{ "content" : [ {"type":"text","text":"fidelity"} ], "structuredContent":{"n":1.50,"s":"\\u00e9"}, "_meta":{"vendor/x":[1,2,3]}, "x-future-field":{"deep":{"keep":true}}, "isError":false }}'


def call(id_, params):
    name = params.get("name")
    args = params.get("arguments") or {}
    token = (params.get("_meta") or {}).get("progressToken")
    if name == "echo":
        result(id_, text(args.get("text", "")))
    elif EXTRA_TOOL and name == EXTRA_TOOL:
        result(id_, text("extra " + name))
    elif name in file_tools():
        result(id_, text("extra " + name))
    elif TOOLS_FILE and name == "announce":
        send({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
        result(id_, text("announced"))
    elif name == "slow":
        time.sleep(args.get("ms", 500) / 1000.0)
        result(id_, text("slow %s" % args.get("tag", "")))
    elif name == "fidelity":
        send_raw(FIDELITY % json.dumps(id_))
    elif name == "progress":
        steps = args.get("steps", 3)
        for i in range(steps):
            if token is not None:
                send({"jsonrpc": "2.0", "method": "notifications/progress",
                      "params": {"progressToken": token, "progress": i + 1, "total": steps, "message": args.get("tag", "")}})
            time.sleep(args.get("ms", 50) / 1000.0)
        result(id_, text("progress %s" % args.get("tag", "")))
    elif name == "crash":
        sys.stdout.flush()
        os._exit(3)
    elif name == "garbage":
        send_raw("this is not JSON")
    elif name == "pid":
        result(id_, text(str(os.getpid())))
    elif name == "spam":
        payload = "x" * args.get("size", 1000)
        for i in range(args.get("count", 100)):
            send({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": {"i": i, "pad": payload}}})
        result(id_, text("spammed"))
    elif name == "touch":
        send({"jsonrpc": "2.0", "method": "notifications/resources/updated", "params": {"uri": args.get("uri")}})
        result(id_, text("touched"))
    elif name == "sample":
        with answers_lock:
            next_request[0] += 1
            rid = "s-%d" % next_request[0]
            waiter = answers[rid] = [threading.Event(), None]
        send({"jsonrpc": "2.0", "id": rid, "method": "sampling/createMessage",
              "params": {"messages": [{"role": "user", "content": {"type": "text", "text": args.get("prompt", "hi")}}], "maxTokens": 50}})
        if not waiter[0].wait(20):
            result(id_, text("no answer"))
            return
        response = waiter[1]
        if "error" in response:
            result(id_, {"content": [{"type": "text", "text": "error: " + response["error"]["message"]}], "isError": True})
        else:
            result(id_, text("sampled: " + response["result"]["content"]["text"]))
    elif name == "fail":
        result(id_, {"content": [{"type": "text", "text": "it went wrong"}], "isError": True})
    else:
        send({"jsonrpc": "2.0", "id": id_, "error": {"code": -32602, "message": "Unknown tool: %s" % name}})


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        message = json.loads(line)
        log(message)
        method = message.get("method")
        id_ = message.get("id")
        if method is None and id_ in answers:
            with answers_lock:
                waiter = answers.pop(id_)
            waiter[1] = message
            waiter[0].set()
            continue
        if method == "initialize":
            if INIT_DELAY:
                time.sleep(INIT_DELAY)
            result(id_, {"protocolVersion": message["params"]["protocolVersion"],
                         "capabilities": {"tools": {"listChanged": True}, "prompts": {}, "resources": {"subscribe": True}},
                         "serverInfo": {"name": NAME, "version": "1.0"}})
            if exit_after_init_due():
                os._exit(0)
        elif method == "tools/list":
            if LIST_DELAY:
                threading.Timer(LIST_DELAY, result, args=(id_, tools_page(message.get("params")))).start()
            else:
                result(id_, tools_page(message.get("params")))
        elif method == "prompts/list":
            result(id_, {"prompts": [{"name": "hello", "description": "Says hello.", "arguments": [{"name": "who"}]}]})
        elif method == "prompts/get":
            who = (message["params"].get("arguments") or {}).get("who", "you")
            result(id_, {"messages": [{"role": "user", "content": {"type": "text", "text": "hello %s from %s" % (who, message["params"]["name"])}}]})
        elif method == "resources/list":
            later(RESOURCES_DELAY, result, id_, {"resources": [{"uri": "fake://%s/readme" % NAME, "name": "readme"}]})
        elif method == "resources/templates/list":
            later(RESOURCES_DELAY, result, id_, {"resourceTemplates": [{"uriTemplate": "fake://%s/items/{id}" % NAME, "name": "item"}]})
        elif method == "resources/read":
            uri = message["params"]["uri"]
            later(READ_DELAY, result, id_, {"contents": [{"uri": uri, "text": "content of %s" % uri}]})
        elif method in ("resources/subscribe", "resources/unsubscribe"):
            if "deny" in message["params"]["uri"]:
                send({"jsonrpc": "2.0", "id": id_, "error": {"code": -32602, "message": "no subscriptions to %s" % message["params"]["uri"]}})
            else:
                result(id_, {})
        elif method == "tools/call":
            threading.Thread(target=call, args=(id_, message.get("params") or {}), daemon=True).start()
        elif method == "ping":
            result(id_, {})
        elif id_ is not None and method is not None:
            send({"jsonrpc": "2.0", "id": id_, "error": {"code": -32601, "message": "Method not found"}})


if __name__ == "__main__":
    main()
