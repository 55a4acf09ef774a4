import PluginAPI

/// Per-caller access (ABI 1.4 `allow`): which items a client may see and use.
extension Router {
    /// Whether any router of the chain has `allow` (without one, every caller may use everything
    /// the chain exposes, and lists skip the per-item check).
    public var checksCallers: Bool { chain.contains { $0.table.allow != nil } }

    /// Whether every router of the chain lets `caller` see and use the item clients know as
    /// `name`. A router answering anything but MCPH_ALLOW or MCPH_DENY is logged and counts as a
    /// denial (the ABI's rule), so a broken router never widens access.
    public func allows(_ kind: ItemKind, name: String, caller: Caller) -> Bool {
        guard checksCallers else { return true }
        return caller.withABI { allows(kind, name: name, caller: $0) }
    }

    /// The items of a list that `caller` may see (each element's exposed name checked as by
    /// `allows`); the items unchanged when no router checks callers.
    func visible(_ items: Catalog.Items, _ kind: ItemKind, to caller: Caller) -> Catalog.Items {
        guard checksCallers else { return items }
        var kept = Catalog.Items(listed: items.listed)
        // Elements without a recorded exposed name cannot be checked: none of them is shown.
        guard items.exposed.count == items.elements.count else { return kept }
        caller.withABI { abiCaller in
            for (element, name) in zip(items.elements, items.exposed) where allows(kind, name: name, caller: abiCaller) {
                kept.elements.append(element)
                kept.exposed.append(name)
                kept.names[name] = items.names[name]
            }
        }
        return kept
    }

    private func allows(_ kind: ItemKind, name: String, caller: UnsafePointer<mcph_caller>) -> Bool {
        var nameBytes = Array(name.utf8)
        return nameBytes.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { text in
                for step in chain {
                    guard let allow = step.table.allow else { continue }
                    let answer = PluginWatchdog.watch(step.plugin.info.id, "allow", logger: logger) {
                        allow(step.plugin.state, kind.rawValue, text.baseAddress, text.count, caller)
                    }
                    switch answer {
                    case MCPH_ALLOW:
                        continue
                    case MCPH_DENY:
                        return false
                    default:
                        logger.error("router '\(step.plugin.info.id)' answered \(answer) to allow for \(kind.noun) '\(name)' (expected MCPH_ALLOW 0 or MCPH_DENY -1); treated as a denial: fix or update the router plugin")
                        return false
                    }
                }
                return true
            }
        }
    }
}
