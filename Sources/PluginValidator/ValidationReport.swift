import PluginAPI

/// The outcome of one conformance check.
public enum CheckStatus: String, Sendable {
    case pass = "PASS"
    case fail = "FAIL"
    /// Not run; the detail says why (a missing `--connection-config`, an earlier failure).
    case skip = "SKIP"
}

/// One line of the report: a check with a stable dotted id (`transport.send`), its status and a
/// human sentence saying what was seen (and, for a failure, what the ABI expects).
public struct CheckResult: Sendable, Equatable {
    public let id: String
    public let status: CheckStatus
    public let detail: String

    public init(_ id: String, _ status: CheckStatus, _ detail: String) {
        self.id = id
        self.status = status
        self.detail = detail
    }

    static func pass(_ id: String, _ detail: String) -> CheckResult { CheckResult(id, .pass, detail) }
    static func fail(_ id: String, _ detail: String) -> CheckResult { CheckResult(id, .fail, detail) }
    static func skip(_ id: String, _ detail: String) -> CheckResult { CheckResult(id, .skip, detail) }
}

/// What the descriptor says about the plugin (for the report's header).
public struct PluginSummary: Sendable, Equatable {
    public let id: String
    public let name: String
    public let version: String
    public let abiMajor: UInt16
    public let abiMinor: UInt16
    public let kinds: [String]
}

/// The whole report: the checks in the order they ran, and the exit status they add up to.
///
/// Exit status: 0 when every check that ran passed, 1 when one failed, 2 when the file could not
/// be loaded at all (`loadFailure` says why, in the host loader's words when it has them).
public struct ValidationReport: Sendable {
    public let file: String
    public internal(set) var plugin: PluginSummary?
    public internal(set) var checks: [CheckResult] = []
    public internal(set) var loadFailure: String?
    /// A call into the plugin blocked and never returned: a thread of this process is stuck in
    /// the plugin. Exit without running the plugin's exit-time code (`_exit`), which could wait on it.
    public internal(set) var pluginWedged = false

    public init(file: String) {
        self.file = file
    }

    public var failed: Int { checks.count { $0.status == .fail } }
    public var passed: Int { checks.count { $0.status == .pass } }
    public var skipped: Int { checks.count { $0.status == .skip } }

    public var exitCode: Int32 {
        if loadFailure != nil { return 2 }
        return failed > 0 ? 1 : 0
    }

    /// The check with this id, if it ran (or was skipped).
    public func check(_ id: String) -> CheckResult? { checks.first { $0.id == id } }

    // MARK: - Text

    /// Width of the id column in the text report.
    static let idWidth = 30

    /// The first line of the text report.
    public var headerLine: String { "validate-plugin \(file)" }

    /// One line of the text report: `PASS  transport.send   12 sends, slowest 0.1 ms`.
    public static func line(_ check: CheckResult) -> String {
        let padding = String(repeating: " ", count: max(1, idWidth - check.id.count))
        return "\(check.status.rawValue)  \(check.id)\(padding)\(check.detail)"
    }

    /// The plugin line (after the descriptor was read), e.g. `plugin mcph.stdio "stdio transport" 0.1.0, ABI 1.4, transport`.
    public var pluginLine: String? { plugin.map(Self.pluginLine) }

    public static func pluginLine(_ plugin: PluginSummary) -> String {
        "plugin \(plugin.id) \"\(plugin.name)\" \(plugin.version), ABI \(plugin.abiMajor).\(plugin.abiMinor), \(plugin.kinds.isEmpty ? "no kind" : plugin.kinds.joined(separator: ", "))"
    }

    /// The closing lines: the load failure (if any) and the tally.
    public var summaryLines: [String] {
        var lines: [String] = []
        if let loadFailure { lines.append("cannot load the plugin: \(loadFailure)") }
        let verdict = exitCode == 0 ? "PASSED" : exitCode == 1 ? "FAILED" : "NOT LOADED"
        lines.append("summary: \(passed) passed, \(failed) failed, \(skipped) skipped: \(verdict)")
        return lines
    }

    /// The whole report as text, one line per check.
    public var text: String {
        var lines = [headerLine]
        if let pluginLine { lines.append(pluginLine) }
        lines += checks.map(Self.line)
        lines += summaryLines
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: - JSON

    /// The whole report as one JSON object:
    /// `{"file", "plugin": {...} | null, "checks": [{"id", "status", "detail"}], "summary": {...}, "loadFailure", "exitCode"}`.
    public var json: String {
        var plugin = "null"
        if let p = self.plugin {
            plugin = "{\"id\":\(JSONText.string(p.id)),\"name\":\(JSONText.string(p.name)),\"version\":\(JSONText.string(p.version)),"
                + "\"abi\":\(JSONText.string("\(p.abiMajor).\(p.abiMinor)")),\"kinds\":[\(p.kinds.map(JSONText.string).joined(separator: ","))]}"
        }
        let checks = self.checks.map {
            "{\"id\":\(JSONText.string($0.id)),\"status\":\(JSONText.string($0.status.rawValue)),\"detail\":\(JSONText.string($0.detail))}"
        }
        return "{\"file\":\(JSONText.string(file)),\"plugin\":\(plugin),\"checks\":[\(checks.joined(separator: ","))],"
            + "\"summary\":{\"passed\":\(passed),\"failed\":\(failed),\"skipped\":\(skipped)},"
            + "\"loadFailure\":\(loadFailure.map(JSONText.string) ?? "null"),\"exitCode\":\(exitCode)}\n"
    }
}

/// JSON text for the report and the validator's own messages (no Foundation needed).
enum JSONText {
    /// `value` as a JSON string literal.
    static func string(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// The first few problems of a check, and how many more there were (a report line stays readable).
func summarize(_ problems: [String], limit: Int = 2) -> String {
    let shown = problems.prefix(limit).joined(separator: "; ")
    return problems.count > limit ? shown + "; and \(problems.count - limit) more like it" : shown
}

/// A byte count for the report: "512 KiB", "96 MiB".
func formatBytes(_ count: Int) -> String {
    count >= 1 << 20 ? "\(count >> 20) MiB" : "\(max(0, count) >> 10) KiB"
}

/// A duration in milliseconds for the report, to 0.1: "0.3", "12", "300.5".
func format(_ value: Double) -> String {
    guard value.isFinite, abs(value) < 1e12 else { return "\(value)" }
    let rounded = (value * 10).rounded() / 10
    return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
}

func eventName(_ event: mcph_conn_event) -> String {
    switch event {
    case MCPH_EVENT_OPENED: return "OPENED"
    case MCPH_EVENT_FAILED: return "FAILED"
    case MCPH_EVENT_CLOSED: return "CLOSED"
    case MCPH_EVENT_WRITABLE: return "WRITABLE"
    case MCPH_EVENT_SESSION_RESET: return "SESSION_RESET"
    default: return "event \(event)"
    }
}

func statusName(_ status: mcph_status) -> String {
    switch status {
    case MCPH_OK: return "MCPH_OK"
    case MCPH_E_INVALID: return "MCPH_E_INVALID"
    case MCPH_E_AGAIN: return "MCPH_E_AGAIN"
    case MCPH_E_CLOSED: return "MCPH_E_CLOSED"
    case MCPH_E_UNSUPPORTED: return "MCPH_E_UNSUPPORTED"
    case MCPH_E_FAILED: return "MCPH_E_FAILED"
    case MCPH_E_TOO_SMALL: return "MCPH_E_TOO_SMALL"
    default: return "status \(status)"
    }
}
