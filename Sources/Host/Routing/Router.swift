import Logging
import PluginAPI

/// Kinds of catalog items, as the router ABI numbers them.
public enum ItemKind: Int32, Sendable, CaseIterable {
    case tool = 1
    case prompt = 2
    case resource = 3
    case resourceTemplate = 4

    /// The list method, the array key of its result, and the member naming an item.
    public var listMethod: String {
        switch self {
        case .tool: return "tools/list"
        case .prompt: return "prompts/list"
        case .resource: return "resources/list"
        case .resourceTemplate: return "resources/templates/list"
        }
    }

    public var resultKey: String {
        switch self {
        case .tool: return "tools"
        case .prompt: return "prompts"
        case .resource: return "resources"
        case .resourceTemplate: return "resourceTemplates"
        }
    }

    public var nameKey: String {
        switch self {
        case .tool, .prompt: return "name"
        case .resource: return "uri"
        case .resourceTemplate: return "uriTemplate"
        }
    }

    /// The server capability a backend must declare to be asked for this list.
    public var capability: String {
        switch self {
        case .tool: return "tools"
        case .prompt: return "prompts"
        case .resource, .resourceTemplate: return "resources"
        }
    }

    public var noun: String {
        switch self {
        case .tool: return "tool"
        case .prompt: return "prompt"
        case .resource: return "resource"
        case .resourceTemplate: return "resource template"
        }
    }
}

/// What a router decided for a request naming an item.
public enum RouteDecision: Sendable, Equatable {
    case forward(backend: String, name: String)
    case reject(String)
    case noOpinion
}

/// The host's view of its router chain: an ordered list of router plugins (or, with none, the
/// plain `server__name` rule without shortening, so the host still works and says so in its log).
///
/// Composition (docs: "Router chain"): `expose` runs the chain in order: router 1 is given the
/// backend's own item name, router k the name router k-1 exposed; the last one's output is what
/// clients see, and a HIDE (or an error) anywhere hides the item. `route` runs it in reverse: each
/// router maps the name it exposed back to the name it was given (FORWARD's out_name), has no
/// opinion (the name passes unchanged) or REJECTs (the request is refused with its message). The
/// backend is the one the frontmost FORWARD that names one gives (normally router 1's). `allow`
/// (ABI 1.4) is asked of every router that has it, about the name clients see.
public struct Router: Sendable {
    /// The routers in chain order; empty: the built-in `server__name` rule.
    public let chain: [RouterPlugin]
    /// Where a router's errors are logged (an error from `expose` hides the item).
    let logger: Logger

    /// A chain of one router (or none).
    public init(plugin: RouterPlugin?, logger: Logger = Logger(label: "mcp-host")) {
        self.init(chain: plugin.map { [$0] } ?? [], logger: logger)
    }

    public init(chain: [RouterPlugin], logger: Logger = Logger(label: "mcp-host")) {
        self.chain = chain
        self.logger = logger
    }

    /// The first router of the chain (the one that names backends), if any.
    public var plugin: RouterPlugin? { chain.first }

    /// The plugin ids of the chain, in order.
    public var ids: [String] { chain.map(\.plugin.info.id) }

    /// What an `expose` answer means. ABI 1.0 hid an item with 1, the value of MCPH_E_INVALID; since
    /// 1.1 hiding is MCPH_EXPOSE_HIDE (-1) and any other non-zero value is an error. The plugin's
    /// descriptor says which header it was built against.
    enum ExposeAnswer: Equatable {
        case show, hide, tooSmall, error(Int32)
    }

    static func interpretExpose(_ status: Int32, pluginMinor: UInt16) -> ExposeAnswer {
        switch status {
        case MCPH_EXPOSE_SHOW: return .show
        case MCPH_EXPOSE_HIDE_1_0 where pluginMinor == 0: return .hide
        case MCPH_EXPOSE_HIDE where pluginMinor >= 1: return .hide
        case MCPH_E_TOO_SMALL: return .tooSmall
        default: return .error(status)
        }
    }

    /// The exposed name of a backend's item after the whole chain, or nil when a router hides it.
    public func expose(_ kind: ItemKind, backend: String, name: String) -> String? {
        guard !chain.isEmpty else { return kind == .tool || kind == .prompt ? backend + "__" + name : name }
        var current = name
        for step in chain {
            guard let next = expose(kind, backend: backend, name: current, by: step) else { return nil }
            current = next
        }
        return current
    }

    /// One router's exposed name for the name it is given, or nil when it hides the item.
    private func expose(_ kind: ItemKind, backend: String, name: String, by plugin: RouterPlugin) -> String? {
        guard let expose = plugin.table.expose else { return name }
        var backendBytes = Array(backend.utf8), nameBytes = Array(name.utf8)
        var capacity = 256
        while true {
            var storage = [CChar](repeating: 0, count: capacity)
            let (status, length) = storage.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                var buf = mcph_buf(ptr: out.baseAddress, cap: out.count, len: 0)
                let status = backendBytes.withUnsafeMutableBufferPointer { b in
                    nameBytes.withUnsafeMutableBufferPointer { n in
                        b.withMemoryRebound(to: CChar.self) { bc in
                            n.withMemoryRebound(to: CChar.self) { nc in
                                PluginWatchdog.watch(plugin.plugin.info.id, "expose", logger: logger) {
                                    expose(plugin.plugin.state, kind.rawValue, bc.baseAddress, bc.count, nc.baseAddress, nc.count, &buf)
                                }
                            }
                        }
                    }
                }
                return (status, buf.len)
            }
            switch Self.interpretExpose(status, pluginMinor: plugin.plugin.info.abiMinor) {
            case .show where length < 0: // a size_t past Int.max, imported as Int: a broken plugin
                logger.error("router '\(plugin.plugin.info.id)' reported an impossible length for the exposed name of \(kind.noun) '\(name)' of backend '\(backend)'; the item is hidden")
                return nil
            case .show:
                return String(decoding: storage[0..<min(length, capacity)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            case .hide:
                return nil
            case .tooSmall where length > capacity && length <= 1 << 20:
                capacity = length
            case .tooSmall:
                logger.error("router '\(plugin.plugin.info.id)' needs \(length) bytes for the exposed name of \(kind.noun) '\(name)' of backend '\(backend)' (at most 1 MiB, and more than the \(capacity) offered); the item is hidden")
                return nil
            case .error(let code):
                logger.error("router '\(plugin.plugin.info.id)' failed to expose \(kind.noun) '\(name)' of backend '\(backend)' (status \(code)); the item is hidden: fix or update the router plugin")
                return nil
            }
        }
    }

    /// The chain's decision for a request naming `name` (the name the client used).
    public func route(method: String, kind: ItemKind, name: String) -> RouteDecision {
        guard !chain.isEmpty else {
            guard kind == .tool || kind == .prompt, let sep = name.firstRange(of: "__"), sep.lowerBound != name.startIndex else {
                return .noOpinion
            }
            return .forward(backend: String(name[..<sep.lowerBound]), name: String(name[sep.upperBound...]))
        }
        var current = name
        var backend: String?
        for step in chain.reversed() {
            switch route(method: method, kind: kind, name: current, by: step) {
            case .forward(let named, let inner):
                current = inner
                if !named.isEmpty { backend = named } // the frontmost one that names a backend wins
            case .reject(let message):
                return .reject(message)
            case .noOpinion:
                continue
            }
        }
        guard let backend else { return .noOpinion }
        return .forward(backend: backend, name: current)
    }

    /// One router's decision for the name it exposed.
    private func route(method: String, kind: ItemKind, name: String, by plugin: RouterPlugin) -> RouteDecision {
        guard plugin.table.route != nil else { return .noOpinion }
        // A buffer too small for the answer: the plugin writes the size it needs into `len`
        // (mcph_buf's rule); the call is repeated once with buffers that large (up to 1 MiB).
        var capacities = (backend: 256, item: 4096, message: 1024)
        for _ in 0..<2 {
            let answer = PluginWatchdog.watch(plugin.plugin.info.id, "route", logger: logger) {
                callRoute(plugin: plugin, method: method, kind: kind, name: name, capacities: capacities)
            }
            switch answer.decision {
            case MCPH_ROUTE_FORWARD:
                if let backend = answer.backend, let item = answer.item { return .forward(backend: backend, name: item) }
                let needed = (max(answer.lengths.backend, capacities.backend), max(answer.lengths.item, capacities.item))
                guard needed.0 <= 1 << 20, needed.1 <= 1 << 20 else { return .noOpinion }
                capacities = (needed.0, needed.1, capacities.message)
            case MCPH_ROUTE_REJECT:
                return .reject(answer.message)
            default:
                return .noOpinion
            }
        }
        return .noOpinion
    }

    private struct RouteAnswer {
        let decision: mcph_route_decision
        /// Nil when the plugin's answer did not fit (or its length is not one it could have written).
        let backend: String?
        let item: String?
        let message: String
        let lengths: (backend: Int, item: Int)
    }

    private func callRoute(plugin: RouterPlugin, method: String, kind: ItemKind, name: String,
                           capacities: (backend: Int, item: Int, message: Int)) -> RouteAnswer {
        guard let route = plugin.table.route else { return RouteAnswer(decision: MCPH_ROUTE_DEFAULT, backend: nil, item: nil, message: "", lengths: (0, 0)) }
        var backend = [CChar](repeating: 0, count: capacities.backend), item = [CChar](repeating: 0, count: capacities.item)
        var message = [CChar](repeating: 0, count: capacities.message)
        var methodBytes = Array(method.utf8), nameBytes = Array(name.utf8)
        var lengths = (0, 0, 0)
        let decision: mcph_route_decision = backend.withUnsafeMutableBufferPointer { b in
            item.withUnsafeMutableBufferPointer { i in
                message.withUnsafeMutableBufferPointer { m in
                    var bb = mcph_buf(ptr: b.baseAddress, cap: b.count, len: 0)
                    var ib = mcph_buf(ptr: i.baseAddress, cap: i.count, len: 0)
                    var mb = mcph_buf(ptr: m.baseAddress, cap: m.count, len: 0)
                    let d = methodBytes.withUnsafeMutableBufferPointer { mp in
                        nameBytes.withUnsafeMutableBufferPointer { np in
                            mp.withMemoryRebound(to: CChar.self) { mc in
                                np.withMemoryRebound(to: CChar.self) { nc in
                                    route(plugin.plugin.state, mc.baseAddress, mc.count, kind.rawValue, nc.baseAddress, nc.count, &bb, &ib, &mb)
                                }
                            }
                        }
                    }
                    lengths = (bb.len, ib.len, mb.len)
                    return d
                }
            }
        }
        // `len` is a plugin-written size_t: negative (huge) or past the buffer means "did not fit".
        func text(_ storage: [CChar], _ length: Int) -> String? {
            guard (0...storage.count).contains(length) else { return nil }
            return String(decoding: storage[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return RouteAnswer(decision: decision, backend: text(backend, lengths.0), item: text(item, lengths.1),
                           message: lengths.2 < 0 ? "" : text(message, min(lengths.2, message.count)) ?? "",
                           lengths: (lengths.0 < 0 ? Int.max : lengths.0, lengths.1 < 0 ? Int.max : lengths.1))
    }
}
