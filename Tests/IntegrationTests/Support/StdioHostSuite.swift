import Foundation
import Testing

/// A suite that drives the real mcp-host on stdio against backends of one transport plugin
/// (HTTPTransportTests, TCPTransportTests): its helpers to start, call and stop such hosts.
protocol StdioHostSuite {
    /// What every test needs; a missing piece is a failure that says how to fix it, never a skip.
    static func checkPrerequisites() throws
}

extension StdioHostSuite {
    /// Stops a host this test started, however the test ends (`defer`): HostProcess's deinit cannot
    /// be relied on, its reader threads keep it alive while the process runs.
    func end(_ host: HostProcess) {
        if host.process.isRunning { host.process.terminate() }
    }

    /// A host on stdio serving `servers`, already initialized as a client.
    func stdioHost(_ servers: [String: Any], extra: [String] = [], environment: [String: String] = [:]) throws -> HostProcess {
        try Self.checkPrerequisites()
        let host = try HostProcess(config: try writeConfig(servers, in: try Paths.temporaryDirectory()), extra: extra, environment: environment)
        do {
            try host.initialize()
        } catch {
            end(host)
            throw error
        }
        return host
    }

    /// Calls a tool through a stdio host and returns the response.
    func call(_ host: HostProcess, _ id: Any, _ tool: String, _ arguments: [String: Any] = [:], meta: [String: Any]? = nil,
              timeout: Double = 60) throws -> [String: Any] {
        var params: [String: Any] = ["name": tool, "arguments": arguments]
        if let meta { params["_meta"] = meta }
        try host.request(id, "tools/call", params)
        return try host.response(id: id, timeout: timeout)
    }

    /// The error a caller got: a JSON-RPC error's message (and data), or the text of an isError result.
    func failure(_ response: [String: Any]) -> String? {
        if let error = response["error"] as? [String: Any] {
            let data = error["data"].map { " \($0)" } ?? ""
            return (error["message"] as? String ?? "(no message)") + data
        }
        if (response["result"] as? [String: Any])?["isError"] as? Bool == true { return firstText(response) ?? "(isError without text)" }
        return nil
    }

    /// Waits until every id in `ids` was answered on the host's stdout; returns each answer with the
    /// seconds it took from `start`. Each stdout line is parsed once (answers may be 200 KB each).
    func answers(_ host: HostProcess, _ ids: [String], since start: Date, timeout: Double = 60) throws -> [String: (seconds: Double, json: [String: Any])] {
        var found: [String: (seconds: Double, json: [String: Any])] = [:]
        let wanted = Set(ids)
        var scanned = 0
        let deadline = Date().addingTimeInterval(timeout)
        while found.count < ids.count {
            let lines = host.everyLine
            for line in lines[scanned...] {
                guard let json = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                      let id = json["id"] as? String, wanted.contains(id), found[id] == nil,
                      json["result"] != nil || json["error"] != nil else { continue }
                found[id] = (Date().timeIntervalSince(start), json)
            }
            scanned = lines.count
            if found.count == ids.count { break }
            if Date() > deadline {
                throw TestFailure("no answer to \(ids.filter { found[$0] == nil }.prefix(10)) within \(timeout) s; stderr:\n\(host.stderr.suffix(4000))")
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return found
    }
}
