import Foundation

/// The HTTP proxy to use for one server URL, from the environment the way curl reads it:
/// `https_proxy`/`HTTPS_PROXY` for https URLs, `http_proxy`/`HTTP_PROXY` for http URLs (the lower-case
/// spelling wins when both are set), unless `no_proxy`/`NO_PROXY` matches the host.
public struct ProxySettings: Sendable, Equatable {
    public let host: String
    public let port: Int
    /// Basic credentials from the proxy URL's userinfo (percent-decoded). Never logged.
    public let username: String?
    public let password: String?

    /// The proxy URL without credentials, for logs.
    public var redacted: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        /// The environment variable that was wrong (its value is never repeated: it may hold a password).
        public let variable: String
        public let reason: String
        public var description: String { "$\(variable) \(reason)" }
    }

    /// The proxy for `url`, or nil for a direct connection.
    public static func forURL(_ url: RemoteURL, environment: [String: String]) throws(Invalid) -> ProxySettings? {
        let names = url.scheme == "https" ? ["https_proxy", "HTTPS_PROXY"] : ["http_proxy", "HTTP_PROXY"]
        guard let variable = names.first(where: { environment[$0].map { !$0.trimmingWhitespace().isEmpty } ?? false }),
              let value = environment[variable] else { return nil }
        let noProxy = environment["no_proxy"] ?? environment["NO_PROXY"] ?? ""
        if NoProxy(noProxy).matches(host: url.host, port: url.port) { return nil }
        return try parse(value.trimmingWhitespace(), variable: variable)
    }

    /// Parses a proxy URL: `http://[user:password@]host[:port]`, or `host:port` without a scheme.
    public static func parse(_ text: String, variable: String) throws(Invalid) -> ProxySettings {
        let withScheme = text.contains("://") ? text : "http://" + text
        guard let components = URLComponents(string: withScheme), let scheme = components.scheme?.lowercased() else {
            throw Invalid(variable: variable, reason: "is not a proxy URL; give http://host:port")
        }
        guard scheme == "http" else {
            throw Invalid(variable: variable, reason: "uses the scheme '\(scheme)'; only http:// proxies are supported (https URLs are tunnelled through them with CONNECT)")
        }
        guard var host = components.host, !host.isEmpty else {
            throw Invalid(variable: variable, reason: "has no host; give http://host:port")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let port = components.port ?? (text.contains("://") ? 80 : 1080)
        guard (1...65535).contains(port) else { throw Invalid(variable: variable, reason: "has a port outside 1-65535") }
        return ProxySettings(host: host, port: port, username: components.user, password: components.user == nil ? nil : (components.password ?? ""))
    }
}

/// A `NO_PROXY` list: comma- or space-separated entries; `*` matches every host; a host name
/// matches itself and its subdomains (`example.com` and `.example.com` both match
/// `api.example.com`); an entry may end in `:port` to match that port only; IP literals match
/// exactly (IPv6 with or without brackets) and IPv4 CIDR ranges (`10.0.0.0/8`) match their
/// addresses. Comparison ignores case and a trailing dot.
public struct NoProxy: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        var host: String
        var port: Int?
        var cidr: (address: UInt32, bits: Int)?

        static func == (a: Entry, b: Entry) -> Bool {
            a.host == b.host && a.port == b.port && a.cidr?.address == b.cidr?.address && a.cidr?.bits == b.cidr?.bits
        }
    }

    let matchesAll: Bool
    let entries: [Entry]

    public init(_ list: String) {
        var all = false
        var entries: [Entry] = []
        for raw in list.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }) {
            var item = String(raw).lowercased()
            if item == "*" { all = true; continue }
            var port: Int?
            if item.hasPrefix("[") {
                // [v6] or [v6]:port
                guard let close = item.firstIndex(of: "]") else { continue }
                let rest = item[item.index(after: close)...]
                if rest.hasPrefix(":") { port = Int(rest.dropFirst()) }
                item = String(item[item.index(after: item.startIndex)..<close])
            } else if item.filter({ $0 == ":" }).count == 1, let colon = item.lastIndex(of: ":"),
                      let p = Int(item[item.index(after: colon)...]) {
                port = p
                item = String(item[..<colon])
            }
            while item.hasPrefix(".") { item.removeFirst() }
            while item.hasSuffix(".") { item.removeLast() }
            if item.hasPrefix("*.") { item.removeFirst(2) }
            var cidr: (UInt32, Int)?
            if let slash = item.firstIndex(of: "/"), let bits = Int(item[item.index(after: slash)...]), (0...32).contains(bits),
               let address = Self.ipv4(String(item[..<slash])) {
                cidr = (address, bits)
            }
            guard !item.isEmpty else { continue }
            entries.append(Entry(host: item, port: port, cidr: cidr))
        }
        matchesAll = all
        self.entries = entries
    }

    /// Whether a connection to host:port should bypass the proxy.
    public func matches(host: String, port: Int) -> Bool {
        if matchesAll { return true }
        var name = host.lowercased()
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        while name.hasSuffix(".") { name.removeLast() }
        let address = Self.ipv4(name)
        for entry in entries {
            if let p = entry.port, p != port { continue }
            if let cidr = entry.cidr {
                if let address, Self.inRange(address, cidr.address, cidr.bits) { return true }
                continue
            }
            if name == entry.host { return true }
            // Suffix matching only for names, never for IP literals.
            if address == nil, !name.contains(":"), name.hasSuffix("." + entry.host) { return true }
        }
        return false
    }

    static func ipv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ ("0"..."9").contains($0) }), let octet = UInt32(part), octet <= 255 else { return nil }
            value = value << 8 | octet
        }
        return value
    }

    static func inRange(_ address: UInt32, _ network: UInt32, _ bits: Int) -> Bool {
        guard bits > 0 else { return true }
        let mask: UInt32 = bits >= 32 ? .max : ~(UInt32.max >> UInt32(bits))
        return address & mask == network & mask
    }
}
