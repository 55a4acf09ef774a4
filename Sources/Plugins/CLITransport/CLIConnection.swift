#if canImport(Glibc)
import Glibc
#endif
import CLIDiscovery
import Foundation
import Locking
import PluginAPI
import ProcessSupport

/// One configured CLI, seen by the host as an MCP server. It answers `initialize`, `ping`,
/// `tools/list` and `tools/call` itself and runs the program once per call.
///
/// Threads (never the host's task pool):
/// - dispatcher: takes messages `send` queued, answers the quick ones, parks lists and calls that
///   arrive before discovery is done, and starts one thread per call;
/// - discovery (at start, unless preset tools): cache or help processes, then releases what waited;
/// - one thread per call: waits for a run slot (within its deadline), runs, answers;
/// - closer (after `close`): cancels every run, waits for them within the grace, sends CLOSED.
/// Host callbacks run under `callbackLock`, so they are serialized per connection as the ABI
/// promises, and nothing is delivered after the terminal event.
///
/// `@unchecked Sendable`: immutable properties, plus state behind `Locked` and semaphores.
final class CLIConnection: @unchecked Sendable {
    /// Queue of messages from the host: beyond 1,024 messages or 16 MiB `send` answers
    /// MCPH_E_AGAIN, and a WRITABLE event follows once the dispatcher has taken them. An empty
    /// inbox always accepts (the bound limits what waits behind a message, not its size), so an
    /// E_AGAIN always has queued messages behind it, whose taking sends the WRITABLE.
    static let inboxMessages = 1024
    static let inboxBytes = 16 << 20
    /// Calls in flight (running or waiting for a slot); beyond it a call gets a JSON-RPC error.
    static let maxCallsInFlight = 1024
    /// Lists and calls waiting for discovery; beyond it a request is answered at once with -32000.
    static let maxParked = 256

    private let plugin: CLIPlugin
    let config: CLIConfig
    private let executable: String
    private let callbacks: mcph_conn_callbacks
    private let runner: ProcessRunner
    /// Closed by `close`: stops help processes and runs.
    private let shutdown = RunCancellation()

    private struct Inbox {
        var messages: [[UInt8]] = []
        var bytes = 0
        var owesWritable = false
        var closed = false
    }
    private let inbox = Locked(Inbox())
    private let inboxSignal = DispatchSemaphore(value: 0)

    private enum ToolState {
        case discovering(parked: [[String: Any]])
        case ready([String: ToolDefinition], listText: String)
    }
    private let tools: Locked<ToolState>
    private let calls = Locked<[String: RunCancellation]>([:])
    private let slots: DispatchSemaphore
    private let callbackLock = Locked(false) // true once a terminal event was sent
    private let closeRequested = Locked(false)
    private let work = DispatchGroup()       // dispatcher, discovery, calls
    private let closer = DispatchGroup()

    private init(plugin: CLIPlugin, config: CLIConfig, executable: String, callbacks: mcph_conn_callbacks) {
        self.plugin = plugin
        self.config = config
        self.executable = executable
        self.callbacks = callbacks
        self.runner = ProcessRunner(link: plugin.link)
        self.slots = DispatchSemaphore(value: config.maxConcurrent)
        if let presets = config.presets {
            let definitions = presets.map { Self.presetTool($0, config: config) }
            tools = Locked(.ready(Dictionary(definitions.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }),
                                  listText: Self.listText(definitions)))
        } else {
            tools = Locked(.discovering(parked: []))
        }
    }

    static func make(plugin: CLIPlugin, config: CLIConfig, callbacks: mcph_conn_callbacks) throws(CLIConfig.Invalid) -> CLIConnection {
        guard let executable = ExecutableLocator.locate(config.command, pathVariable: config.env["PATH"], cwd: config.cwd) else {
            throw CLIConfig.Invalid("command", "'\(config.command)' was not found\(config.command.contains("/") ? " or is not executable" : " on PATH"); give an installed program or its path")
        }
        if let cwd = config.cwd {
            var info = stat()
            guard stat(cwd, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
                throw CLIConfig.Invalid("cwd", "'\(cwd)' is not a directory")
            }
        }
        return CLIConnection(plugin: plugin, config: config, executable: executable, callbacks: callbacks)
    }

    /// Reports OPENED and starts the dispatcher and, without preset tools, discovery.
    func start() {
        event(MCPH_EVENT_OPENED, code: 0, detail: "cli \(executable)")
        for warning in config.warnings { log(MCPH_LOG_WARNING, warning) }
        spawnThread { [self] in dispatch() }
        if config.presets == nil { spawnThread { [self] in discover() } }
    }

    private func spawnThread(_ body: @escaping @Sendable () -> Void) {
        work.enter()
        Thread.detachNewThread { [work] in
            body()
            work.leave()
        }
    }

    // MARK: - Host-facing operations

    func send(_ message: UnsafeBufferPointer<UInt8>) -> mcph_status {
        let status: mcph_status = inbox.withLock { box in
            if box.closed { return MCPH_E_CLOSED }
            if !box.messages.isEmpty,
               box.messages.count >= Self.inboxMessages || box.bytes > Self.inboxBytes - message.count {
                box.owesWritable = true
                return MCPH_E_AGAIN
            }
            box.messages.append(Array(message))
            box.bytes += message.count
            return MCPH_OK
        }
        if status == MCPH_OK { inboxSignal.signal() }
        return status
    }

    func close(graceMs: Int) {
        let first = closeRequested.withLock { requested in
            defer { requested = true }
            return !requested
        }
        guard first else { return }
        inbox.withLock { $0.closed = true }
        inboxSignal.signal()
        shutdown.cancel()
        for run in calls.withLock({ Array($0.values) }) { run.cancel() }
        closer.enter()
        Thread.detachNewThread { [self] in
            // Runs end within the supervisor's grace plus a second (ProcessRunner escalates).
            let budget = max(2000, min(graceMs, 600_000)) + 2000
            if work.wait(timeout: .now() + .milliseconds(budget)) == .timedOut {
                log(MCPH_LOG_WARNING, "runs still ending after \(budget) ms; closing anyway")
            }
            event(MCPH_EVENT_CLOSED, code: 0, detail: "closed")
            closer.leave()
        }
    }

    /// Ends the connection and waits until no thread of it can call the host again.
    func destroy() {
        close(graceMs: 0)
        closer.wait()
        work.wait()
    }

    // MARK: - Dispatcher

    private func dispatch() {
        while true {
            inboxSignal.wait()
            let (batch, writable, closed): ([[UInt8]], Bool, Bool) = inbox.withLock { box in
                let taken = box.messages
                box.messages = []
                box.bytes = 0
                let owed = box.owesWritable
                box.owesWritable = false
                return (taken, owed, box.closed)
            }
            if closed { return }
            if writable { event(MCPH_EVENT_WRITABLE, code: 0, detail: "") }
            for bytes in batch { handle(bytes) }
        }
    }

    private func handle(_ bytes: [UInt8]) {
        guard let message = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            log(MCPH_LOG_WARNING, "dropped a message that is not a JSON object")
            return
        }
        guard let method = message["method"] as? String else { return } // a response: we send no requests
        let id = message["id"]
        let params = message["params"] as? [String: Any] ?? [:]
        switch method {
        case "initialize":
            guard let id else { return }
            let requested = params["protocolVersion"] as? String
            let version = ["2024-11-05", "2025-03-26", "2025-06-18"].contains(requested ?? "") ? requested! : "2025-06-18"
            reply(id, result: ["protocolVersion": version, "capabilities": ["tools": ["listChanged": false]],
                               "serverInfo": ["name": "mcph-cli/\(config.name)", "version": "0.1.0"]])
        case "ping":
            if let id { reply(id, result: [:]) }
        case "tools/list", "tools/call":
            guard let id else { return }
            enum Fate { case run, parked, full }
            let fate: Fate = tools.withLock { state in
                switch state {
                case .discovering(var parked):
                    guard parked.count < Self.maxParked else { return .full }
                    parked.append(message)
                    state = .discovering(parked: parked)
                    return .parked
                case .ready:
                    return .run
                }
            }
            switch fate {
            case .run: process(message)
            case .parked: break
            case .full:
                replyError(id, code: -32000, message: "discovery of '\(config.name)' is still running and \(Self.maxParked) requests already wait for it; retry later")
            }
        case "notifications/cancelled":
            if let requestID = params["requestId"], let key = Self.idText(requestID) {
                // A parked request is dropped unanswered; a running call is killed.
                tools.withLock { state in
                    guard case .discovering(let parked) = state else { return }
                    let kept = parked.filter { $0["id"].flatMap(Self.idText) != key }
                    if kept.count != parked.count { state = .discovering(parked: kept) }
                }
                calls.withLock { $0[key] }?.cancel()
            }
        default:
            if let id { replyError(id, code: -32601, message: "method '\(method)' is not provided by the cli transport (it serves tools)") }
        }
    }

    /// Answers a tools/list or tools/call once the tools are known.
    private func process(_ message: [String: Any]) {
        guard let id = message["id"], let method = message["method"] as? String,
              case .ready(let map, let listText) = tools.withLock({ $0 }) else { return }
        if method == "tools/list" {
            guard let idText = Self.idText(id) else { return }
            emit("{\"jsonrpc\":\"2.0\",\"id\":\(idText),\"result\":{\"tools\":\(listText)}}")
            return
        }
        let params = message["params"] as? [String: Any] ?? [:]
        guard let name = params["name"] as? String else {
            replyError(id, code: -32602, message: "tools/call needs params.name (a tool name from tools/list)")
            return
        }
        guard let tool = map[name] else {
            let restriction = config.only.map { " (cli_only allows: \($0.joined(separator: ", ")))" } ?? ""
            replyError(id, code: -32602, message: "unknown tool '\(name)' on '\(config.name)'\(restriction); tools/list shows the tools")
            return
        }
        let arguments: [String: Any]
        switch params["arguments"] {
        case nil, is NSNull: arguments = [:]
        case let object as [String: Any]: arguments = object
        default:
            replyError(id, code: -32602, message: "tools/call: \"arguments\" must be an object")
            return
        }
        let argv: [String]
        do {
            argv = try ArgumentBuilder.argv(for: tool, arguments: arguments)
        } catch {
            replyError(id, code: -32602, message: "\(error)")
            return
        }
        guard let key = Self.idText(id) else { return }
        let cancellation = RunCancellation()
        let accepted: Bool = calls.withLock { table in
            guard table.count < Self.maxCallsInFlight, table[key] == nil else { return false }
            table[key] = cancellation
            return true
        }
        guard accepted else {
            replyError(id, code: -32000, message: "'\(config.name)' has \(Self.maxCallsInFlight) calls in flight (or this id is in use); retry later")
            return
        }
        if shutdown.isCancelled { cancellation.cancel() }
        let idBox = UncheckedBox(id)
        spawnThread { [self] in
            call(tool: tool, argv: argv, id: idBox.value, key: key, cancellation: cancellation)
        }
    }

    // MARK: - Discovery

    private func discover() {
        let started = monotonicNanoseconds()
        var definitions: [ToolDefinition]?
        var cache: DiscoveryCache?
        if let stateDirectory = plugin.stateDirectory, let identity = ExecutableLocator.identity(of: executable) {
            let candidate = DiscoveryCache(stateDirectory: stateDirectory, config: config, executableIdentity: identity)
            let loaded = candidate.load()
            switch loaded {
            case .hit(let cached):
                definitions = cached
                log(MCPH_LOG_DEBUG, "\(cached.count) tools from the discovery cache \(candidate.path)")
            case .miss: break
            case .corrupt(let why): log(MCPH_LOG_WARNING, "discovery cache unusable (\(why)); discovering again")
            case .untrusted(let why): log(MCPH_LOG_WARNING, "discovery cache not used (\(why)); discovering, and not caching")
            }
            if case .untrusted = loaded {} else { cache = candidate }
        }
        if definitions == nil {
            var discovery = Discovery(config: config, executable: executable, runner: runner,
                                      log: { [weak self] text in self?.log(MCPH_LOG_WARNING, text) })
            discovery.cancellation = shutdown
            let result = discovery.discover()
            definitions = result.tools
            let elapsed = Saturating.sub(monotonicNanoseconds(), started) / 1_000_000
            log(MCPH_LOG_INFO, "discovered \(result.tools.count) tools with \(result.helpRuns) help runs in \(elapsed) ms")
            if let cache, result.complete, !shutdown.isCancelled {
                if let problem = cache.store(result.tools) { log(MCPH_LOG_WARNING, "discovery cache not written: \(problem)") }
            }
        }
        let list = definitions ?? []
        let map = Dictionary(list.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        if map.count < list.count { log(MCPH_LOG_WARNING, "\(list.count - map.count) tools share a name with an earlier one; the first is kept") }
        let unique = list.filter { map[$0.name] == $0 }
        let parked: [[String: Any]] = tools.withLock { state in
            guard case .discovering(let parked) = state else { return [] }
            state = .ready(map, listText: Self.listText(unique))
            return parked
        }
        for message in parked { process(message) }
    }

    // MARK: - Calls

    private func call(tool: ToolDefinition, argv: [String], id: Any, key: String, cancellation: RunCancellation) {
        defer { _ = calls.withLock { $0.removeValue(forKey: key) } }
        let deadline = Saturating.add(monotonicNanoseconds(), Saturating.nanoseconds(ms: config.timeoutMs))
        // Wait for a run slot within the call's deadline, in short slices to notice a cancel.
        var acquired = false
        while !acquired {
            if cancellation.isCancelled { return } // a cancelled request gets no answer
            let now = monotonicNanoseconds()
            if now >= deadline { break }
            let slice = min(Saturating.sub(deadline, now), 100_000_000)
            acquired = slots.wait(timeout: .now() + .nanoseconds(Int(slice))) == .success
        }
        guard acquired else {
            replyResult(id, text: "\(tool.name): not run: \(config.maxConcurrent) runs of '\(config.name)' were busy for the whole timeout (\(Self.duration(config.timeoutMs))); max_concurrent is \(config.maxConcurrent)", isError: true)
            return
        }
        defer { slots.signal() }
        let remainingMs = Int(min(Saturating.sub(deadline, monotonicNanoseconds()) / 1_000_000, UInt64(Int32.max)))
        var env = Discovery.quietEnvironment
        for (name, value) in config.env { env[name] = value }
        let request = SpawnRequest(command: executable, args: config.args + argv, env: env, cwd: config.cwd)
        let outcome = runner.run(request, timeoutMs: max(1, remainingMs), maxOutput: config.maxOutput, cancellation: cancellation)
        switch outcome.end {
        case .cancelled:
            return
        case .failedToStart(let why):
            replyResult(id, text: "\(tool.name): could not start '\(config.command)': \(why)", isError: true)
        case .timedOut:
            let text = "\(tool.name): timed out after \(Self.duration(config.timeoutMs)); the process group was killed.\n" + Self.body(outcome, maxOutput: config.maxOutput)
            replyResult(id, text: text, isError: true)
        case .exited(let code):
            var text = Self.body(outcome, maxOutput: config.maxOutput)
            if code != 0 {
                if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
                text += "--- exit code \(code) ---"
            }
            replyResult(id, text: text, isError: code != 0)
        }
    }

    /// stdout, a note if it was cut, then stderr under a delimiter when there is any.
    static func body(_ outcome: RunOutcome, maxOutput: Int) -> String {
        var text = String(decoding: outcome.stdout, as: UTF8.self)
        if outcome.stdoutDropped > 0 {
            text += "\n[output cut: \(outcome.stdoutDropped) more bytes not shown (max_output is \(maxOutput) bytes)]"
        }
        if !outcome.stderr.isEmpty {
            if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
            text += "--- stderr ---\n" + String(decoding: outcome.stderr, as: UTF8.self)
            if outcome.stderrDropped > 0 { text += "\n[stderr cut: \(outcome.stderrDropped) more bytes not shown]" }
        }
        return text
    }

    static func duration(_ ms: Int) -> String {
        ms % 1000 == 0 ? "\(ms / 1000) s" : "\(ms) ms"
    }

    // MARK: - Tools

    /// A preset tool (config `tools`): fixed args, its description, and either its own schema
    /// (each property but `args` becomes a `--name` flag; `args` only if the schema has it) or one
    /// taking `args`.
    static func presetTool(_ preset: CLIConfig.Preset, config: CLIConfig) -> ToolDefinition {
        let argsProperty = "{\"args\":{\"type\":\"string\",\"description\":\"More arguments, split like a shell would (quotes respected; no expansion)\"}}"
        let schema = preset.inputSchema ?? "{\"type\":\"object\",\"properties\":\(argsProperty)}"
        var flags: [String: FlagSpelling] = [:]
        for (property, type) in preset.properties {
            let kind: Option.Kind = switch type {
            case "boolean": .flag
            case "integer": .integer
            case "number": .number
            default: .string
            }
            flags[property] = FlagSpelling(spelling: "--" + property, kind: kind)
        }
        let description = preset.description ?? "Runs \(([config.command] + config.args + preset.args).joined(separator: " "))"
        return ToolDefinition(name: preset.name, path: [], description: description, inputSchema: schema, flags: flags, fixedArgs: preset.args,
                              acceptsArgs: preset.offersArgs)
    }

    static func listText(_ definitions: [ToolDefinition]) -> String {
        "[" + definitions.map { tool in
            "{\"name\":\(JSONText.quote(tool.name)),\"description\":\(JSONText.quote(tool.description)),\"inputSchema\":\(tool.inputSchema)}"
        }.joined(separator: ",") + "]"
    }

    // MARK: - Answers and callbacks

    static func idText(_ id: Any) -> String? {
        guard let data = try? JSONSerialization.data(withJSONObject: id, options: [.fragmentsAllowed]) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    private func reply(_ id: Any, result: [String: Any]) {
        guard let idText = Self.idText(id),
              let data = try? JSONSerialization.data(withJSONObject: result, options: [.withoutEscapingSlashes]) else { return }
        emit("{\"jsonrpc\":\"2.0\",\"id\":\(idText),\"result\":\(String(decoding: data, as: UTF8.self))}")
    }

    private func replyResult(_ id: Any, text: String, isError: Bool) {
        guard let idText = Self.idText(id) else { return }
        emit("{\"jsonrpc\":\"2.0\",\"id\":\(idText),\"result\":{\"content\":[{\"type\":\"text\",\"text\":\(JSONText.quote(text))}],\"isError\":\(isError)}}")
    }

    private func replyError(_ id: Any, code: Int, message: String) {
        guard let idText = Self.idText(id) else { return }
        emit("{\"jsonrpc\":\"2.0\",\"id\":\(idText),\"error\":{\"code\":\(code),\"message\":\(JSONText.quote(message))}}")
    }

    private func emit(_ json: String) {
        var json = json
        callbackLock.withLock { terminalSent in
            guard !terminalSent else { return }
            json.withUTF8 { utf8 in
                callbacks.on_message(callbacks.ctx, mcph_bytes(ptr: utf8.baseAddress, len: utf8.count, release: nil, release_ctx: nil))
            }
        }
    }

    private func event(_ event: mcph_conn_event, code: Int32, detail: String) {
        var detail = detail
        callbackLock.withLock { terminalSent in
            if terminalSent { return }
            if event == MCPH_EVENT_FAILED || event == MCPH_EVENT_CLOSED { terminalSent = true }
            detail.withUTF8 { utf8 in
                utf8.withMemoryRebound(to: CChar.self) {
                    callbacks.on_event(callbacks.ctx, event, code, $0.baseAddress, $0.count)
                }
            }
        }
    }

    private func log(_ level: mcph_log_level, _ message: String) {
        var message = message
        message.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { callbacks.on_log(callbacks.ctx, level, $0.baseAddress, $0.count) }
        }
    }
}

/// Carries a JSON value from JSONSerialization (immutable Foundation objects) to a call thread.
/// `@unchecked Sendable`: the value is never mutated after parsing.
private struct UncheckedBox: @unchecked Sendable {
    let value: Any
    init(_ value: Any) { self.value = value }
}
