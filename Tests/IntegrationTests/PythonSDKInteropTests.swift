import Foundation
import Testing

/// Interop with an MCP implementation nobody here wrote: the official Python SDK's high-level
/// `Client` (default mode, which probes `server/discover` first) against mcp-host serving three
/// backends: the Swift SDK example server, a Python backend, and PyPI's mcp-server-time.
@Suite(.serialized)
struct PythonSDKInteropTests {
    @Test func sdkClientListsAndCallsToolsOfThreeBackends() throws {
        let python = Paths.sdkPython
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestFailure("no Python with the MCP SDK at \(python): run scripts/test (it creates .venv) or set MCP_HOST_TEST_PYTHON")
        }
        let venvBin = URL(fileURLWithPath: python).deletingLastPathComponent().path
        let dir = try Paths.temporaryDirectory()
        let config = try writeConfig([
            "example": ["command": Paths.exampleServer],
            "fake": fakeServer(name: "fake"),
            "time": ["command": venvBin + "/mcp-server-time", "args": ["--local-timezone", "UTC"]],
        ], in: dir)
        let calls: [[Any]] = [
            ["example__add", ["a": 2, "b": 3]],
            ["fake__echo", ["text": "from python"]],
            ["time__get_current_time", ["timezone": "UTC"]],
            ["fake__fidelity", [:]],
            ["example__echo", ["text": "swift sdk"]],
            ["fake__sample", ["prompt": "hello"]],
        ]
        let callsJSON = String(decoding: try JSONSerialization.data(withJSONObject: calls), as: UTF8.self)
        let result = try run(python, [Paths.pythonDir + "/sdk_client.py", "stdio", Paths.host, Paths.pluginsDir, config, callsJSON])
        guard result.status == 0,
              let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw TestFailure("sdk_client failed (\(result.status)):\n\(result.stdout)\n\(result.stderr.suffix(3000))")
        }
        let tools = report["tools"] as? [String] ?? []
        for name in ["example__echo", "example__add", "fake__echo", "time__get_current_time", "time__convert_time"] {
            #expect(tools.contains(name), "missing \(name) in \(tools)")
        }
        #expect((report["descriptions"] as? [String: String])?["fake__echo"] == "[fake] Echoes text.\nSecond line.")
        let results = report["calls"] as? [[String: Any]] ?? []
        #expect(results.count == calls.count)
        #expect(results.first?["text"] as? String == "5")
        #expect(results.dropFirst(1).first?["text"] as? String == "from python")
        let time = results.dropFirst(2).first?["text"] as? String ?? ""
        #expect(time.contains("\"timezone\": \"UTC\"") || time.contains("UTC"), "time result: \(time)")
        #expect(results.dropFirst(2).first?["isError"] as? Bool == false)
        #expect(results.dropFirst(3).first?["structured"] as? [String: Any] != nil, "structuredContent reached the SDK")
        #expect(results.dropFirst(4).first?["text"] as? String == "swift sdk")
        #expect(results.dropFirst(5).first?["text"] as? String == "sampled: echo of hello",
                "the backend's sampling request reached this client's callback and its answer came back")
        #expect((report["prompts"] as? [String])?.contains("fake__hello") == true)
        #expect((report["prompts"] as? [String])?.contains("example__greeting") == true)
        #expect((report["resources"] as? [String])?.contains("fake://fake/readme") == true)
        // The server/discover probe is refused at once instead of timing out (the SDK waits 10 s).
        let connect = report["connect_seconds"] as? Double ?? 99
        #expect(connect < 8, "connecting took \(connect) s")
    }
}
