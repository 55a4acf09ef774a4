import PluginAPI

/// Checks of the descriptor's fields and of the interface tables `get_interface` returns.
enum DescriptorChecks {
    /// The characters a plugin id may use.
    static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    /// id, name, version, kinds and the functions the host needs.
    static func fields(_ library: PluginLibrary) -> [CheckResult] {
        let d = library.descriptor
        var results: [CheckResult] = []
        if let id = library.id {
            results.append(isValidID(id)
                ? .pass("descriptor.id", "'\(id)'")
                : .fail("descriptor.id", "'\(id)' is not a valid plugin id: use one or more of [a-z0-9._-] (e.g. \"acme.tcp\")"))
        } else {
            results.append(.fail("descriptor.id", "id is NULL; give a static NUL-terminated id of [a-z0-9._-]"))
        }

        let name = d.name.map { String(cString: $0) }, version = d.version.map { String(cString: $0) }
        var missing: [String] = []
        if name?.isEmpty ?? true { missing.append("name") }
        if version?.isEmpty ?? true { missing.append("version") }
        results.append(missing.isEmpty
            ? .pass("descriptor.name", "name '\(name ?? "")', version '\(version ?? "")'")
            : .fail("descriptor.name", "\(missing.joined(separator: " and ")) \(missing.count == 1 ? "is" : "are") NULL or empty; give static NUL-terminated strings"))

        let known = UInt32(MCPH_KIND_TRANSPORT) | UInt32(MCPH_KIND_ROUTER)
        if d.kinds == 0 {
            results.append(.fail("descriptor.kinds", "kinds is 0: declare MCPH_KIND_TRANSPORT and/or MCPH_KIND_ROUTER"))
        } else if d.kinds & known == 0 {
            results.append(.fail("descriptor.kinds", "kinds 0x\(String(d.kinds, radix: 16)) has no kind this host knows (transport 0x1, router 0x2)"))
        } else {
            let unknown = d.kinds & ~known
            results.append(.pass("descriptor.kinds", library.summary.kinds.joined(separator: ", ")
                + (unknown != 0 ? " (and unknown bits 0x\(String(unknown, radix: 16)), which this host ignores)" : "")))
        }

        var absent: [String] = []
        if d.`init` == nil { absent.append("init") }
        if d.get_interface == nil { absent.append("get_interface") }
        results.append(absent.isEmpty
            ? .pass("descriptor.functions", "init and get_interface set; deinit \(d.deinit == nil ? "absent (allowed)" : "set")")
            : .fail("descriptor.functions", "\(absent.joined(separator: " and ")) \(absent.count == 1 ? "is" : "are") NULL; the host cannot use the plugin"))
        return results
    }
}

/// A plugin's transport table, copied within its declared `struct_size`.
struct TransportTable: @unchecked Sendable { // C function pointers of a library never unloaded; read-only
    let table: mcph_transport_v1
    let name: String
}

/// A plugin's router table, copied within its declared `struct_size`; `allow` is nil when the
/// table ends before it or the plugin left it NULL.
struct RouterTable: @unchecked Sendable { // as TransportTable
    let table: mcph_router_v1
    let declaredSize: UInt32
}

/// Checks of what `get_interface` returns. The calls go through the runner (a plugin that blocks
/// in `get_interface` is a failure, not a hang).
struct InterfaceChecks {
    let library: PluginLibrary
    let state: Unchecked<UnsafeMutableRawPointer?>
    let runner: PluginCallRunner

    /// The table for `id`, or nil (the call returned NULL); a failure when the call blocked.
    private func fetch(_ id: String) -> Result<Unchecked<UnsafeRawPointer?>, Blocked> {
        let getInterface = Unchecked(library.descriptor.get_interface)
        let state = self.state
        return runner.call("get_interface", limit: 10) { Unchecked(getInterface.value?(state.value, id)) }.map(\.value)
    }

    func transport() -> (CheckResult, TransportTable?) {
        let id = MCPH_IFACE_TRANSPORT_V1
        let raw: UnsafeRawPointer
        switch fetch(id) {
        case .failure(let blocked): return (.fail("interface.transport", blocked.description), nil)
        case .success(let pointer):
            guard let pointer = pointer.value else {
                return (.fail("interface.transport", "the plugin declares the transport kind but get_interface(\"\(id)\") returns NULL"), nil)
            }
            raw = pointer
        }
        let declared = raw.load(as: UInt32.self)
        guard Int(declared) >= ABISizes.transport else {
            return (.fail("interface.transport", "the table's struct_size \(declared) is smaller than the ABI 1.0 transport table (\(ABISizes.transport) bytes)"), nil)
        }
        let table = ABISizes.read(raw, declared: declared, as: mcph_transport_v1.self)
        var missing: [String] = []
        if table.name == nil { missing.append("name") }
        if table.open == nil { missing.append("open") }
        if table.send == nil { missing.append("send") }
        if table.close == nil { missing.append("close") }
        if table.destroy == nil { missing.append("destroy") }
        guard missing.isEmpty, let namePointer = table.name else {
            return (.fail("interface.transport", "\(missing.joined(separator: ", ")) \(missing.count == 1 ? "is" : "are") NULL in the \"\(id)\" table (struct_size \(declared)); every ABI 1.0 slot must be set"), nil)
        }
        let name = String(cString: namePointer)
        guard !name.isEmpty else {
            return (.fail("interface.transport", "the transport's name is empty; give the name configs use (e.g. \"tcp\")"), nil)
        }
        return (.pass("interface.transport", "'\(name)': struct_size \(declared) (ABI 1.0: \(ABISizes.transport)), open, send, close and destroy set"),
                TransportTable(table: table, name: name))
    }

    func router() -> (CheckResult, RouterTable?) {
        let id = MCPH_IFACE_ROUTER_V1
        let raw: UnsafeRawPointer
        switch fetch(id) {
        case .failure(let blocked): return (.fail("interface.router", blocked.description), nil)
        case .success(let pointer):
            guard let pointer = pointer.value else {
                return (.fail("interface.router", "the plugin declares the router kind but get_interface(\"\(id)\") returns NULL"), nil)
            }
            raw = pointer
        }
        let declared = raw.load(as: UInt32.self)
        guard Int(declared) >= ABISizes.router else {
            return (.fail("interface.router", "the table's struct_size \(declared) is smaller than the ABI 1.0 router table (\(ABISizes.router) bytes)"), nil)
        }
        let table = ABISizes.read(raw, declared: declared, as: mcph_router_v1.self)
        var missing: [String] = []
        if table.expose == nil { missing.append("expose") }
        if table.route == nil { missing.append("route") }
        guard missing.isEmpty else {
            return (.fail("interface.router", "\(missing.joined(separator: " and ")) \(missing.count == 1 ? "is" : "are") NULL in the \"\(id)\" table (struct_size \(declared)); every ABI 1.0 slot must be set"), nil)
        }
        let allow = table.allow != nil ? "allow set (1.4)" : "no allow (everything allowed)"
        return (.pass("interface.router", "struct_size \(declared) (ABI 1.0: \(ABISizes.router)), expose and route set, \(allow)"),
                RouterTable(table: table, declaredSize: declared))
    }

    func unknown() -> CheckResult {
        let id = "mcph.validator-unknown/1"
        switch fetch(id) {
        case .failure(let blocked): return .fail("interface.unknown", blocked.description)
        case .success(let pointer):
            return pointer.value == nil
                ? .pass("interface.unknown", "get_interface(\"\(id)\") returns NULL")
                : .fail("interface.unknown", "get_interface(\"\(id)\") returns a table for an id it cannot know; return NULL for unknown ids (how hosts discover what a plugin offers)")
        }
    }
}
