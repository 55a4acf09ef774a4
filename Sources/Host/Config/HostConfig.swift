import Foundation

/// One configured backend, validated and with `${VAR}`s substituted.
public struct ServerConfig: Sendable, Equatable {
    /// The server's name: the prefix of its items (`name__tool`).
    public let name: String
    /// The transport plugin's name ("stdio", "http", "cli", or a third party's).
    public let transport: String
    /// The JSON object handed to the transport's `open` (the server's entry plus `"name"`).
    public let transportConfig: [UInt8]
    /// The file whose entry won (drop-ins override the main file).
    public let source: String
    /// When the backend is shut down after being idle (`idle_timeout`, `min_idle_timeout`,
    /// `max_idle_timeout`).
    public var idle: IdleTimeout = .default
    /// The server's own `request_timeout` (seconds), which replaces `--request-timeout` for its
    /// requests; nil when not given.
    public var requestTimeout: Double? = nil
}

/// A problem with the configuration: which file, which server, which key, and what to do.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let server: String?
    public let key: String?
    public let message: String

    public var description: String {
        var text = file
        if let server { text += ": server '\(server)'" }
        if let key { text += ": \"\(key)\"" }
        return text + ": " + message
    }
}

/// The loaded configuration: the servers that can run, and the problems that disabled others.
public struct HostConfig: Sendable {
    public var servers: [ServerConfig]
    /// Servers disabled by an error (the others run), and drop-in files that could not be read.
    public var problems: [ConfigError]
    /// Each plugin's own section (`"plugins": {"<plugin id>": {...}}`), as JSON bytes with
    /// `${VAR}`s substituted: what the plugin gets at init (ABI 1.4 `plugin_config`) and on reload.
    public var pluginSettings: [String: [UInt8]] = [:]
    /// Plugins whose section is invalid (plugin id -> the problem): such a plugin is not loaded at
    /// all, rather than run without its settings (a filter without its rules would show everything).
    public var invalidPluginSettings: [String: String] = [:]
    /// The router chain (`"routers": ["mcph.namespace", ...]` at the top of the main servers
    /// file), in order; nil when not given (the default chain). `--router` overrides it.
    public var routers: [String]?

    public init(servers: [ServerConfig] = [], problems: [ConfigError] = []) {
        self.servers = servers
        self.problems = problems
    }
}

/// Reads `{"mcpServers": {...}}` from a main file plus `*.json` drop-ins.
///
/// Drop-ins are read in bytewise lexical order; a later file replaces a server of the same name
/// entirely. A main file that is missing or not JSON is fatal (`ConfigError` thrown); a bad drop-in
/// is reported and skipped; a bad server entry disables that server only.
public struct ConfigLoader: Sendable {
    /// Server names become prefixes, so they are limited to what a tool name may contain.
    static let namePattern = "[A-Za-z0-9_.-], 1-64 characters, without \"__\""

    public let environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    public func load(file: String, directory: String?) throws(ConfigError) -> HostConfig {
        var entries: [(name: String, value: Any, file: String)] = []
        var problems: [ConfigError] = []
        var plugins: [String: (value: Any, file: String)] = [:]
        func read(_ path: String, required: Bool) throws(ConfigError) {
            let contents = try readFile(path, required: required, problems: &problems)
            entries += contents.servers
            for (id, value) in contents.plugins { plugins[id] = (value, path) } // a later file replaces a section
        }
        try read(file, required: true)
        if let directory, let names = HostPaths.listDirectory(directory) {
            for name in names where name.hasSuffix(".json") {
                do { try read(HostPaths.resolve(name, against: directory), required: false) } catch { problems.append(error) }
            }
        }
        // Later entries win per server name; keep the first-seen order of names for stable output.
        var order: [String] = []
        var latest: [String: (value: Any, file: String)] = [:]
        for entry in entries {
            if latest[entry.name] == nil { order.append(entry.name) }
            latest[entry.name] = (entry.value, entry.file)
        }
        var config = HostConfig(problems: problems)
        config.routers = try routers(inMainFile: file)
        for (id, section) in plugins.sorted(by: { $0.key < $1.key }) {
            switch pluginSection(id: id, value: section.value, file: section.file) {
            case .success(let bytes): config.pluginSettings[id] = bytes
            case .failure(let error):
                config.problems.append(error)
                config.invalidPluginSettings[id] = error.description
            }
        }
        for name in order.sorted() {
            guard let (value, file) = latest[name] else { continue } // every name in `order` is in `latest`
            switch validate(name: name, value: value, file: file) {
            case .success(let server?): config.servers.append(server)
            case .success(nil): break // "disabled": true
            case .failure(let error): config.problems.append(error)
            }
        }
        return config
    }

    /// The main file's `"routers"`: a non-empty array of router plugin ids, each once; nil when
    /// absent. A bad value is fatal (like a main file that is not JSON): the chain decides what
    /// clients may see, so the host never starts with another one than configured.
    func routers(inMainFile file: String) throws(ConfigError) -> [String]? {
        guard let bytes = HostPaths.readFile(file),
              let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any],
              let value = object["routers"] else { return nil } // unreadable: reported by the main read
        guard let ids = value as? [String], !ids.isEmpty, ids.allSatisfy({ !$0.isEmpty }) else {
            throw ConfigError(file: file, server: nil, key: "routers",
                              message: "must be a non-empty array of router plugin ids in chain order, such as [\"mcph.namespace\", \"mcph.alias\", \"mcph.filter\"]")
        }
        if let twice = ids.first(where: { id in ids.filter { $0 == id }.count > 1 }) {
            throw ConfigError(file: file, server: nil, key: "routers", message: "lists '\(twice)' twice; list each router once, in chain order")
        }
        return ids
    }

    /// One plugin's section: an object, `${VAR}`s substituted, as JSON bytes.
    func pluginSection(id: String, value: Any, file: String) -> Result<[UInt8], ConfigError> {
        guard value is [String: Any] else {
            return .failure(ConfigError(file: file, server: nil, key: "plugins.\(id)", message: "must be an object (the plugin's settings)"))
        }
        let substituted: Any
        do {
            substituted = try substitute(value, path: "plugins.\(id)")
        } catch {
            return .failure(ConfigError(file: file, server: nil, key: error.key, message: error.message))
        }
        guard let json = CanonicalJSON.data(substituted) else {
            return .failure(ConfigError(file: file, server: nil, key: "plugins.\(id)", message: "cannot be serialised for the plugin"))
        }
        return .success(json)
    }

    private func readFile(_ path: String, required: Bool, problems: inout [ConfigError]) throws(ConfigError)
        -> (servers: [(name: String, value: Any, file: String)], plugins: [String: Any]) {
        guard let bytes = HostPaths.readFile(path) else {
            throw ConfigError(file: path, server: nil, key: nil, message: "cannot read the file (does it exist?)")
        }
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            throw ConfigError(file: path, server: nil, key: nil, message: "not valid JSON: \((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? error)")
        }
        guard let object = root as? [String: Any] else {
            throw ConfigError(file: path, server: nil, key: nil, message: "the top level must be an object with \"mcpServers\"")
        }
        var plugins: [String: Any] = [:]
        if let section = object["plugins"] {
            guard let map = section as? [String: Any] else {
                throw ConfigError(file: path, server: nil, key: "plugins", message: "must be an object mapping plugin ids to their settings")
            }
            plugins = map
        }
        guard let servers = object["mcpServers"] else {
            if required || !plugins.isEmpty { return ([], plugins) }
            throw ConfigError(file: path, server: nil, key: "mcpServers", message: "missing; expected {\"mcpServers\": {\"name\": {...}}}")
        }
        guard let map = servers as? [String: Any] else {
            throw ConfigError(file: path, server: nil, key: "mcpServers", message: "must be an object mapping server names to their settings")
        }
        return (map.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value, file: path) }, plugins)
    }

    /// Validates one server entry; nil when it is disabled on purpose.
    func validate(name: String, value: Any, file: String) -> Result<ServerConfig?, ConfigError> {
        // Values substituted from the environment may be secrets: no error message quotes them.
        let secrets = Self.substitutedValues(in: value, environment: environment)
        func problem(_ key: String?, _ message: String) -> Result<ServerConfig?, ConfigError> {
            var text = message
            for secret in secrets where text.contains(secret) {
                text = text.replacingOccurrences(of: secret, with: "(a value from the environment)")
            }
            return .failure(ConfigError(file: file, server: name, key: key, message: text))
        }
        guard name.utf8.count <= 64, !name.isEmpty, !name.contains("__"),
              name.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
                  || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
                  || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            return problem(nil, "invalid server name; use \(Self.namePattern) (it prefixes every tool name)")
        }
        guard var entry = value as? [String: Any] else { return problem(nil, "must be an object such as {\"command\": \"...\", \"args\": [...]}") }
        if let disabled = entry["disabled"] as? Bool, disabled { return .success(nil) }

        let substituted: Any
        do {
            substituted = try substitute(entry, path: "")
        } catch {
            return problem(error.key, error.message)
        }
        guard let object = substituted as? [String: Any] else { return problem(nil, "must be an object") } // substitution keeps the shape
        entry = object

        let transport: String
        if let explicit = entry["transport"] ?? entry["type"] {
            guard let text = explicit as? String, !text.isEmpty else { return problem("transport", "must be a non-empty string such as \"stdio\"") }
            switch text {
            case "streamable-http", "streamableHttp", "sse": transport = "http"
            default: transport = text
            }
        } else if entry["cli"] as? Bool == true { // wins over the stdio reading of "command"
            transport = "cli"
        } else if entry["command"] != nil {
            transport = "stdio"
        } else if entry["url"] != nil {
            transport = "http"
        } else {
            return problem(nil, "cannot tell the transport: give \"command\" (stdio), \"url\" (http), \"cli\": true, or \"transport\"")
        }
        if transport == "stdio" {
            guard let command = entry["command"] as? String, !command.isEmpty else { return problem("command", "must be a non-empty string (the program to start)") }
            _ = command
            if let args = entry["args"], !(args is [String]) { return problem("args", "must be an array of strings") }
            if let env = entry["env"], !(env is [String: String]) { return problem("env", "must be an object of string values") }
            if let cwd = entry["cwd"], !(cwd is String) { return problem("cwd", "must be a string (a directory)") }
        }
        if transport == "http", let error = Self.checkHTTP(entry) { return problem(error.key, error.message) }

        // The shutdown grace: `shutdown_grace` (a duration) or the older `shutdownGraceMs`; the
        // transport always receives `shutdownGraceMs`, a checked whole number of milliseconds.
        switch (entry["shutdown_grace"], entry["shutdownGraceMs"]) {
        case (_?, _?):
            return problem("shutdown_grace", "given together with \"shutdownGraceMs\"; keep one (shutdown_grace takes a duration such as \"5s\")")
        case (let value?, nil):
            do {
                let seconds = try SettingCheck.duration(json: value, setting: "shutdown_grace", range: HostOptions.Limits.shutdownGrace)
                entry["shutdownGraceMs"] = Int(MonotonicClock.milliseconds(seconds: seconds))
                entry["shutdown_grace"] = nil
            } catch {
                return problem("shutdown_grace", error.message)
            }
        case (nil, let value?):
            do {
                entry["shutdownGraceMs"] = try SettingCheck.integer(json: value, setting: "shutdownGraceMs", range: HostOptions.Limits.shutdownGraceMs)
            } catch {
                return problem("shutdownGraceMs", error.message + " (milliseconds; or write \"shutdown_grace\": \"5s\")")
            }
        case (nil, nil):
            break
        }

        // The idle timeout (the host's, not the transport's: taken out of the transport's config).
        let idle: IdleTimeout
        do {
            idle = try Self.idleTimeout(entry)
        } catch {
            return problem(error.key, error.message)
        }
        for key in ["idle_timeout", "min_idle_timeout", "max_idle_timeout"] { entry[key] = nil }

        // The server's own request timeout (the host's, too: it sets the deadlines of its requests).
        var requestTimeout: Double?
        if let value = entry["request_timeout"] {
            do {
                requestTimeout = try SettingCheck.duration(json: value, setting: "request_timeout", range: HostOptions.Limits.requestTimeout)
            } catch {
                return problem("request_timeout", error.message)
            }
            entry["request_timeout"] = nil
        }

        entry["name"] = name
        // What the environment put into this entry, so the transport can keep it out of everything
        // it prints (an API key in a URL's path, say). Never taken from the file itself.
        entry["substituted_values"] = secrets.isEmpty ? nil : secrets
        guard let json = CanonicalJSON.data(entry) else {
            return problem(nil, "cannot be serialised for the transport")
        }
        return .success(ServerConfig(name: name, transport: transport, transportConfig: json, source: file, idle: idle,
                                     requestTimeout: requestTimeout))
    }

    /// Headers the HTTP transport sets itself (the plugin refuses them too).
    static let reservedHeaders: Set<String> = ["content-type", "accept", "content-length", "transfer-encoding", "host", "connection",
                                               "mcp-session-id", "mcp-protocol-version", "last-event-id", "upgrade", "te", "trailer"]

    /// The HTTP transport's keys, checked here so that a bad entry is a per-server config error like
    /// a stdio one (the plugin checks them again). Messages never quote a header value or the URL.
    static func checkHTTP(_ entry: [String: Any]) -> (key: String, message: String)? {
        guard let url = entry["url"] as? String else { return ("url", "must be a string such as \"http://127.0.0.1:8000/mcp\"") }
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), let parsed = URLComponents(string: url),
              let host = parsed.host, !host.isEmpty else {
            return ("url", "must be an http:// or https:// URL with a host, such as \"http://127.0.0.1:8000/mcp\"")
        }
        if let headers = entry["headers"] {
            guard let map = headers as? [String: Any] else { return ("headers", "must be an object of header names and string values") }
            for (name, value) in map.sorted(by: { $0.key < $1.key }) {
                // RFC 9110 token characters.
                let token = !name.isEmpty && name.utf8.allSatisfy { byte in
                    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || "!#$%&'*+-.^_`|~".utf8.contains(byte)
                }
                guard token else { return ("headers", "has an invalid header name (use letters, digits and -)") }
                guard !Self.reservedHeaders.contains(name.lowercased()) else {
                    return ("headers.\(name)", "is set by the HTTP transport itself and cannot be configured")
                }
                guard let text = value as? String else { return ("headers.\(name)", "must be a string") }
                guard !text.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                    return ("headers.\(name)", "must not contain line breaks or NUL")
                }
            }
        }
        if let value = entry["connect_timeout"] {
            do {
                _ = try SettingCheck.duration(json: value, setting: "connect_timeout", range: HostOptions.Limits.connectTimeout)
            } catch {
                return ("connect_timeout", error.message)
            }
        }
        if let value = entry["max_connections"] {
            do {
                _ = try SettingCheck.integer(json: value, setting: "max_connections", range: HostOptions.Limits.maxConnections)
            } catch {
                return ("max_connections", error.message)
            }
        }
        return nil
    }

    /// The values of the environment variables an entry refers to (`${VAR}`, `${VAR:-default}`),
    /// longest first, for keeping them out of error messages.
    static func substitutedValues(in value: Any, environment: [String: String]) -> [String] {
        var names = Set<String>()
        func visit(_ value: Any) {
            switch value {
            case let text as String:
                var rest = Substring(text)
                while let start = rest.range(of: "${") {
                    rest = rest[start.upperBound...]
                    let name = rest.prefix { $0 == "_" || $0.isLetter || $0.isNumber }
                    if !name.isEmpty { names.insert(String(name)) }
                }
            case let array as [Any]: array.forEach(visit)
            case let object as [String: Any]: object.values.forEach(visit)
            default: break
            }
        }
        visit(value)
        return names.compactMap { environment[$0] }.filter { $0.count >= 3 }.sorted { $0.count > $1.count }
    }

    struct IdleTimeoutError: Error {
        let key: String
        let message: String
    }

    /// `idle_timeout`: "adaptive" (default), "never", or a duration; `min_idle_timeout` and
    /// `max_idle_timeout` (durations, defaults 1m and 5m) bound the adaptive one.
    static func idleTimeout(_ entry: [String: Any]) throws(IdleTimeoutError) -> IdleTimeout {
        func duration(_ key: String, default fallback: Double) throws(IdleTimeoutError) -> Double {
            guard let value = entry[key] else { return fallback }
            do {
                return try SettingCheck.duration(json: value, setting: key, range: HostOptions.Limits.idleTimeout)
            } catch {
                throw IdleTimeoutError(key: key, message: error.message)
            }
        }
        let high = try duration("max_idle_timeout", default: 300)
        // A max below the default min alone lowers the min with it.
        let low = try duration("min_idle_timeout", default: min(60, high))
        guard low <= high else {
            throw IdleTimeoutError(key: "min_idle_timeout", message: "is longer than max_idle_timeout; give a min no longer than the max")
        }
        switch entry["idle_timeout"] {
        case nil:
            return .adaptive(min: low, max: high)
        case let text as String where text == "adaptive":
            return .adaptive(min: low, max: high)
        case let text as String where text == "never":
            return .never
        case let value?:
            do {
                return .fixed(try SettingCheck.duration(json: value, setting: "idle_timeout", range: HostOptions.Limits.idleTimeout))
            } catch {
                throw IdleTimeoutError(key: "idle_timeout", message: error.message + "; or \"adaptive\" (the default) or \"never\"")
            }
        }
    }

    struct SubstitutionError: Error {
        let key: String
        let message: String
    }

    /// Substitutes `${VAR}` and `${VAR:-default}` in every string of a JSON value.
    func substitute(_ value: Any, path: String) throws(SubstitutionError) -> Any {
        switch value {
        case let text as String:
            return try EnvironmentSubstitution.apply(text, environment: environment, key: path)
        case let array as [Any]:
            var out: [Any] = []
            for (i, element) in array.enumerated() { out.append(try substitute(element, path: "\(path)[\(i)]")) }
            return out
        case let object as [String: Any]:
            var out: [String: Any] = [:]
            for (key, element) in object { out[key] = try substitute(element, path: path.isEmpty ? key : "\(path).\(key)") }
            return out
        default:
            return value
        }
    }
}

/// `${VAR}` and `${VAR:-default}` substitution. `$$` is a literal `$`. An unset variable without a
/// default is an error naming the key, so a typo never silently becomes an empty argument.
public enum EnvironmentSubstitution {
    static func apply(_ text: String, environment: [String: String], key: String) throws(ConfigLoader.SubstitutionError) -> String {
        guard text.contains("$") else { return text }
        var out = ""
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            let next = text.index(after: i)
            if c == "$", next < text.endIndex, text[next] == "$" {
                out.append("$")
                i = text.index(after: next)
                continue
            }
            if c == "$", next < text.endIndex, text[next] == "{" {
                guard let close = text[next...].firstIndex(of: "}") else {
                    throw .init(key: key, message: "unterminated ${ in \"\(text)\"")
                }
                let body = text[text.index(after: next)..<close]
                let name: Substring, fallback: Substring?
                if let sep = body.firstRange(of: ":-") {
                    name = body[..<sep.lowerBound]
                    fallback = body[sep.upperBound...]
                } else {
                    name = body
                    fallback = nil
                }
                guard !name.isEmpty, name.allSatisfy({ $0 == "_" || $0.isLetter || $0.isNumber }) else {
                    throw .init(key: key, message: "invalid variable reference ${\(body)}")
                }
                if let value = environment[String(name)], !(value.isEmpty && fallback != nil) {
                    out += value
                } else if let fallback {
                    out += fallback
                } else {
                    throw .init(key: key, message: "environment variable \(name) is not set (write ${\(name):-default} to give a default)")
                }
                i = text.index(after: close)
                continue
            }
            out.append(c)
            i = next
        }
        return out
    }
}
