import Foundation

/// One allow/deny pair of glob lists.
///
/// `allow == nil` means "no allow list" (everything not denied passes); an empty allow list
/// (`"allow": []`) lets nothing pass.
public struct RuleSet: Sendable, Equatable {
    public var allow: [Glob]?
    public var deny: [Glob]

    public init(allow: [Glob]? = nil, deny: [Glob] = []) {
        self.allow = allow
        self.deny = deny
    }

    /// The precedence rule, over every rule set that applies to one decision:
    /// 1. a name matched by any `deny` pattern of any applicable set is refused (deny wins);
    /// 2. else, if any applicable set has an `allow` list, the name must match a pattern of one
    ///    of those lists (the allow lists add up);
    /// 3. else it passes (no rule set, or no allow list, means allow all).
    public static func permits(_ name: String, under sets: [RuleSet]) -> Bool {
        if sets.contains(where: { $0.deny.contains { $0.matches(name) } }) { return false }
        let allowLists = sets.compactMap(\.allow)
        if allowLists.isEmpty { return true }
        return allowLists.contains { $0.contains { $0.matches(name) } }
    }
}

/// The filter router's settings (`"plugins": {"mcph.filter": {...}}` in the servers file):
///
///     {"servers":  {"git": {"allow": ["git__status", "git__log*"], "deny": ["*push*"]},
///                   "*":   {"deny": ["*delete*"]}},
///      "subjects": {"alice": {"deny": ["git__*"]}},
///      "roles":    {"admin": {"allow": ["*"]}}}
///
/// - `servers`: per server (by its name in `mcpServers`; `"*"` for every server), rules on the
///   names the filter is given: the names the routers before it in the chain exposed (with the
///   default chain, `server__name` for tools and prompts, the URI for resources). An item they
///   refuse is hidden from every list and every call naming it is rejected.
/// - `subjects`, `roles`: per caller, rules on the names clients see (after the whole chain). A
///   caller is subject to its subject's rule set and the sets of each of its roles; a caller
///   none of them applies to (an unauthenticated client, a token without subject) sees
///   everything the server rules show.
/// Rules apply to every kind of item (tools, prompts, resource URIs, URI templates) alike.
public struct FilterRules: Sendable, Equatable {
    public var servers: [String: RuleSet]
    public var subjects: [String: RuleSet]
    public var roles: [String: RuleSet]

    /// The key of `servers` whose rules apply to every server.
    public static let everyServer = "*"
    /// The separator of the namespace router's `server__name`, used by `serverOwning(_:)`.
    public static let namespaceSeparator = "__"

    public init(servers: [String: RuleSet] = [:], subjects: [String: RuleSet] = [:], roles: [String: RuleSet] = [:]) {
        self.servers = servers
        self.subjects = subjects
        self.roles = roles
    }

    /// No rules: everything is shown to everyone.
    public static let none = FilterRules()

    // MARK: - Decisions

    /// Whether an item of `server` named `name` (the filter's input name) is shown.
    public func shows(server: String, name: String) -> Bool {
        RuleSet.permits(name, under: [servers[Self.everyServer], servers[server]].compactMap { $0 })
    }

    /// The configured server a name given to `route` belongs to, when the name tells: the longest
    /// server name S (of those with rules) such that the name starts with `S__`. Nil otherwise
    /// (an aliased or un-prefixed name, a resource URI): only the `"*"` rules then apply in
    /// `route`, and the host's own check (it asks `expose` for the item a request resolves to)
    /// hides the rest.
    public func serverOwning(_ name: String) -> String? {
        servers.keys.filter { $0 != Self.everyServer && name.hasPrefix($0 + Self.namespaceSeparator) }
            .max { $0.utf8.count < $1.utf8.count }
    }

    /// Whether `route` rejects a request naming `name` (the filter's input name).
    public func rejects(_ name: String) -> Bool {
        !RuleSet.permits(name, under: [servers[Self.everyServer], serverOwning(name).flatMap { servers[$0] }].compactMap { $0 })
    }

    /// Whether a caller may see and use the item clients know as `name`. `subject` "" is no subject.
    public func allows(_ name: String, subject: String, roles callerRoles: [String]) -> Bool {
        var sets: [RuleSet] = []
        if !subject.isEmpty, let set = subjects[subject] { sets.append(set) }
        for role in callerRoles { if let set = roles[role] { sets.append(set) } }
        return RuleSet.permits(name, under: sets)
    }

    /// Whether any subject or role rule exists (without them `allows` is always true).
    public var hasCallerRules: Bool { !subjects.isEmpty || !roles.isEmpty }
}

/// Why the filter's settings were refused: says where and what to write instead.
public struct FilterSettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension FilterRules {
    /// Parses the settings object (JSON bytes). Empty input (no section) means no rules. Unknown
    /// keys are refused, so a typo (`"deny_list"`) never silently allows everything.
    public static func parse(_ json: [UInt8]) throws(FilterSettingsError) -> FilterRules {
        if json.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) { return .none }
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: Data(json))
        } catch {
            throw FilterSettingsError("mcph.filter settings are not valid JSON")
        }
        guard let object = root as? [String: Any] else {
            throw FilterSettingsError("mcph.filter settings must be an object with \"servers\", \"subjects\" and/or \"roles\"")
        }
        for key in object.keys.sorted() where !["servers", "subjects", "roles"].contains(key) {
            throw FilterSettingsError("mcph.filter: unknown setting \"\(key)\"; expected \"servers\", \"subjects\" or \"roles\"")
        }
        return FilterRules(servers: try ruleSets(object["servers"], at: "servers"),
                           subjects: try ruleSets(object["subjects"], at: "subjects"),
                           roles: try ruleSets(object["roles"], at: "roles"))
    }

    private static func ruleSets(_ value: Any?, at path: String) throws(FilterSettingsError) -> [String: RuleSet] {
        guard let value else { return [:] }
        guard let map = value as? [String: Any] else {
            throw FilterSettingsError("mcph.filter: \"\(path)\" must be an object such as {\"NAME\": {\"allow\": [...], \"deny\": [...]}}")
        }
        var sets: [String: RuleSet] = [:]
        for (name, entry) in map.sorted(by: { $0.key < $1.key }) {
            guard let rule = entry as? [String: Any] else {
                throw FilterSettingsError("mcph.filter: \"\(path).\(name)\" must be an object with \"allow\" and/or \"deny\" lists")
            }
            for key in rule.keys.sorted() where key != "allow" && key != "deny" {
                throw FilterSettingsError("mcph.filter: unknown key \"\(path).\(name).\(key)\"; expected \"allow\" or \"deny\"")
            }
            var set = RuleSet()
            if let allow = rule["allow"] { set.allow = try globs(allow, at: "\(path).\(name).allow") }
            if let deny = rule["deny"] { set.deny = try globs(deny, at: "\(path).\(name).deny") }
            sets[name] = set
        }
        return sets
    }

    private static func globs(_ value: Any, at path: String) throws(FilterSettingsError) -> [Glob] {
        guard let list = value as? [Any] else {
            throw FilterSettingsError("mcph.filter: \"\(path)\" must be an array of glob strings such as [\"git__log*\"]")
        }
        var globs: [Glob] = []
        for (index, element) in list.enumerated() {
            guard let text = element as? String, !text.isEmpty else {
                throw FilterSettingsError("mcph.filter: \"\(path)[\(index)]\" must be a non-empty string (a glob: * and ? are wildcards)")
            }
            globs.append(Glob(text))
        }
        return globs
    }
}
