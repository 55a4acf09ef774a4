#!/usr/bin/env python3
"""An MCP server on a TCP socket, one JSON-RPC message per line both ways, for the TCP transport's
tests (standard library only; every connection is its own MCP session, as with the real thing).

Usage: tcp_server.py [--host 127.0.0.1] [--port 0] [--ready-file PATH] [--close-after N] [--rcvbuf BYTES]
  --port 0            a free port; the chosen one is written to --ready-file once it listens
  --close-after N     a connection is closed, unanswered, when its Nth tools/call arrives
  --rcvbuf BYTES      SO_RCVBUF of the listening socket (a small window for back-pressure tests)

Tools:
  echo {text}              -> text
  slow {ms, tag}           -> waits ms (each call on its own thread), then "slow TAG"
  progress {steps, ms, tag}-> notifications/progress per step with the request's progressToken, then "progress TAG"
  who {}                   -> "PID/N": this process and the connection's number, to tell connections apart
  big {size}               -> a text of size bytes
  split {}                 -> a progress notification and the answer written in three fragments cut
                              mid-message, 50 ms apart (partial reads, two messages in one read)
  stall {ms}               -> answers "stalling", then reads nothing more from this connection for ms
  drop {}                  -> closes the connection without answering
  huge {size}              -> writes a line of size bytes that does not end (a message too large)

Stderr (flushed per line): "tcp_server PID listening on PORT", "tcp_server connection N opened",
"tcp_server connection N closed", "tcp_server call TOOL".
"""
import argparse
import json
import os
import socket
import sys
import threading
import time

counter_lock = threading.Lock()
connections = [0]


def log(text):
    sys.stderr.write("tcp_server %s\n" % text)
    sys.stderr.flush()


def text(value):
    return {"content": [{"type": "text", "text": value}], "isError": False}


TOOLS = [{"name": n, "description": d, "inputSchema": {"type": "object"}} for n, d in [
    ("echo", "Echoes text."), ("slow", "Answers after ms milliseconds."), ("progress", "Reports progress."),
    ("who", "This process and connection."), ("big", "A large answer."), ("split", "An answer in fragments."),
    ("stall", "Stops reading for a while."), ("drop", "Closes the connection."), ("huge", "A line that never ends."),
]]


class Connection:
    def __init__(self, sock, number, close_after):
        self.sock = sock
        self.number = number
        self.close_after = close_after
        self.calls = 0
        self.out = threading.Lock()
        self.closed = False

    def send_bytes(self, data):
        with self.out:
            try:
                self.sock.sendall(data)
            except OSError:
                pass

    def send(self, message):
        self.send_bytes((json.dumps(message, separators=(",", ":")) + "\n").encode())

    def result(self, id_, value):
        self.send({"jsonrpc": "2.0", "id": id_, "result": value})

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def call(self, id_, params):
        name = params.get("name")
        args = params.get("arguments") or {}
        token = (params.get("_meta") or {}).get("progressToken")
        if name == "echo":
            self.result(id_, text(args.get("text", "")))
        elif name == "slow":
            time.sleep(args.get("ms", 500) / 1000.0)
            self.result(id_, text("slow %s" % args.get("tag", "")))
        elif name == "progress":
            steps = args.get("steps", 3)
            for i in range(steps):
                if token is not None:
                    self.send({"jsonrpc": "2.0", "method": "notifications/progress",
                               "params": {"progressToken": token, "progress": i + 1, "total": steps, "message": "step %d" % (i + 1)}})
                time.sleep(args.get("ms", 50) / 1000.0)
            self.result(id_, text("progress %s" % args.get("tag", "")))
        elif name == "who":
            self.result(id_, text("%d/%d" % (os.getpid(), self.number)))
        elif name == "big":
            self.result(id_, text("b" * int(args.get("size", 1000))))
        elif name == "split":
            note = json.dumps({"jsonrpc": "2.0", "method": "notifications/progress",
                               "params": {"progressToken": token, "progress": 1, "total": 1, "message": "split"}}) + "\n"
            answer = json.dumps({"jsonrpc": "2.0", "id": id_, "result": text("split ✓ answer")}, ensure_ascii=False) + "\r\n"
            data = (note if token is not None else "").encode() + answer.encode()
            cuts = [len(data) // 3, 2 * len(data) // 3]
            for part in (data[:cuts[0]], data[cuts[0]:cuts[1]], data[cuts[1]:]):
                self.send_bytes(part)
                time.sleep(0.05)
        elif name == "drop":
            self.close()
        elif name == "huge":
            size = int(args.get("size", 70 * 1024 * 1024))
            self.send_bytes(b'{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"')
            chunk = b"h" * (1024 * 1024)
            while size > 0 and not self.closed:
                self.send_bytes(chunk[:min(size, len(chunk))])
                size -= len(chunk)
        else:
            self.send({"jsonrpc": "2.0", "id": id_, "error": {"code": -32602, "message": "Unknown tool: %s" % name}})

    def handle(self, line):
        message = json.loads(line)
        method = message.get("method")
        id_ = message.get("id")
        if method == "initialize":
            self.result(id_, {"protocolVersion": message["params"]["protocolVersion"], "capabilities": {"tools": {}},
                              "serverInfo": {"name": "tcp_server", "version": "1.0"}})
        elif method == "tools/list":
            self.result(id_, {"tools": TOOLS})
        elif method == "tools/call":
            self.calls += 1
            name = (message.get("params") or {}).get("name")
            log("call %s" % name)
            if self.close_after and self.calls >= self.close_after:
                log("closing connection %d at call %d (--close-after)" % (self.number, self.calls))
                self.close()
                return
            if name == "stall":  # on the reader thread: nothing more is read meanwhile
                self.result(id_, text("stalling"))
                time.sleep((message["params"].get("arguments") or {}).get("ms", 1000) / 1000.0)
                log("stall over")
                return
            threading.Thread(target=self.call, args=(id_, message.get("params") or {}), daemon=True).start()
        elif method == "ping":
            self.result(id_, {})
        elif id_ is not None and method is not None:
            self.send({"jsonrpc": "2.0", "id": id_, "error": {"code": -32601, "message": "Method not found"}})

    def run(self):
        log("connection %d opened" % self.number)
        buffer = b""
        try:
            while not self.closed:
                data = self.sock.recv(65536)
                if not data:
                    break
                buffer += data
                while b"\n" in buffer and not self.closed:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        self.handle(line)
        except OSError:
            pass
        finally:
            log("connection %d closed" % self.number)
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file")
    parser.add_argument("--close-after", type=int, default=0)
    parser.add_argument("--rcvbuf", type=int, default=0)
    options = parser.parse_args()
    listener = socket.socket(socket.AF_INET6 if ":" in options.host else socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if options.rcvbuf:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, options.rcvbuf)
    listener.bind((options.host, options.port))
    listener.listen(64)
    port = listener.getsockname()[1]
    log("%d listening on %d" % (os.getpid(), port))
    if options.ready_file:
        with open(options.ready_file + ".tmp", "w") as f:
            f.write(str(port))
        os.rename(options.ready_file + ".tmp", options.ready_file)
    while True:
        sock, _ = listener.accept()
        with counter_lock:
            connections[0] += 1
            number = connections[0]
        threading.Thread(target=Connection(sock, number, options.close_after).run, daemon=True).start()


if __name__ == "__main__":
    main()
