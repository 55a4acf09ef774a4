import Foundation

/// What `mcp-bench-load` prints at the end of a run: exactly one JSON object on one stdout line.
///
///     {"sessions":64,"calls":123456,"errors":0,"error_kinds":{"status":0,...},"seconds":5.0,
///      "calls_per_second":24687.1,"latency_us":{"p50":..,"p90":..,"p99":..,"p999":..,"max":..,"mean":..},
///      "per_session":{"min":..,"p50":..,"max":..},"open_seconds":0.8,"get_streams":0}
///
/// Fields the driver does not need may be missing or added without breaking the parse; the core
/// counts (`calls`, `errors`, `seconds`) are required.
public struct LoadReport: Equatable, Sendable, Decodable {
    public struct Latency: Equatable, Sendable, Decodable {
        public var p50: Double
        public var p90: Double?
        public var p99: Double
        public var p999: Double?
        public var max: Double?
        public var mean: Double?
    }

    public struct PerSession: Equatable, Sendable, Decodable {
        public var min: Double
        public var p50: Double
        public var max: Double
        public var spread: Spread { Spread(min: min, median: p50, max: max) }
    }

    public var sessions: Int
    public var calls: Int
    public var errors: Int
    public var errorKinds: [String: Int]
    public var seconds: Double
    public var callsPerSecond: Double
    public var latencyMicroseconds: Latency?
    public var perSession: PerSession?
    public var openSeconds: Double?
    public var getStreams: Int?

    enum CodingKeys: String, CodingKey {
        case sessions, calls, errors, seconds
        case errorKinds = "error_kinds"
        case callsPerSecond = "calls_per_second"
        case latencyMicroseconds = "latency_us"
        case perSession = "per_session"
        case openSeconds = "open_seconds"
        case getStreams = "get_streams"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sessions = try c.decodeIfPresent(Int.self, forKey: .sessions) ?? 0
        calls = try c.decode(Int.self, forKey: .calls)
        errors = try c.decode(Int.self, forKey: .errors)
        errorKinds = try c.decodeIfPresent([String: Int].self, forKey: .errorKinds) ?? [:]
        seconds = try c.decode(Double.self, forKey: .seconds)
        if let rate = try c.decodeIfPresent(Double.self, forKey: .callsPerSecond) {
            callsPerSecond = rate
        } else {
            callsPerSecond = seconds > 0 ? Double(calls) / seconds : 0
        }
        latencyMicroseconds = try c.decodeIfPresent(Latency.self, forKey: .latencyMicroseconds)
        perSession = try c.decodeIfPresent(PerSession.self, forKey: .perSession)
        openSeconds = try c.decodeIfPresent(Double.self, forKey: .openSeconds)
        getStreams = try c.decodeIfPresent(Int.self, forKey: .getStreams)
    }

    /// Parses the loader's stdout: the last line that starts with `{` (anything before it, such
    /// as a stray diagnostic, is ignored).
    public static func parse(_ output: String) throws -> LoadReport {
        let lines = output.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let line = lines.last(where: { $0.hasPrefix("{") }) else {
            throw BenchError("mcp-bench-load printed no JSON object; its output was: \(output.prefix(500).debugDescription)")
        }
        do {
            return try JSONDecoder().decode(LoadReport.self, from: Data(line.utf8))
        } catch {
            throw BenchError("cannot read mcp-bench-load's JSON (\(error)); the line was: \(line.prefix(500))")
        }
    }
}

/// A benchmark failure with a message that says what went wrong and with what.
public struct BenchError: Error, CustomStringConvertible, Equatable, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
