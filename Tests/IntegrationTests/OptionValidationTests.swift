import Foundation
import Testing

/// Every number a user gives the real `mcp-host` binary (flags and environment variables) is
/// checked at start-up: a bad one ends the process with exit status 64 (usage) and a message naming
/// the option and its accepted range; never a signal (a trap), never a host that starts anyway.
@Suite struct OptionValidationTests {
    struct Outcome {
        let status: Int32
        let bySignal: Bool
        let stderr: String
    }

    /// Runs the binary with stdin at EOF (so a host that wrongly starts ends at once on the stdio
    /// front-end; with `--http` the 20 s bound below ends it). Output goes to files: no threads.
    func launch(_ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
        let directory = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let errPath = directory + "/stderr", outPath = directory + "/stdout"
        FileManager.default.createFile(atPath: errPath, contents: nil)
        FileManager.default.createFile(atPath: outPath, contents: nil)
        let config = try writeConfig([:], in: directory)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.host)
        process.arguments = arguments + ["--plugins", Paths.pluginsDir] + (arguments.contains("--config") ? [] : ["--config", config])
        var env = ProcessInfo.processInfo.environment
        for key in ["MCP_HOST_REQUEST_TIMEOUT", "MCP_HOST_MAX_CLIENT_REQUESTS", "MCP_HOST_LOG_LEVEL"] { env[key] = nil }
        env["MCP_HOST_STATE_DIR"] = directory + "/state" // its own catalog cache, never ~/.local/state
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
        let limit = Date().addingTimeInterval(20)
        while process.isRunning && Date() < limit { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw TestFailure("mcp-host \(arguments) did not exit within 20 s: the bad value was accepted")
        }
        process.waitUntilExit()
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return Outcome(status: process.terminationStatus, bySignal: process.terminationReason == .uncaughtSignal, stderr: stderr)
    }

    /// (arguments, the option named in the message, text of the accepted range)
    static let badFlags: [([String], String, String)] = [
        (["--request-timeout", "1e30"], "--request-timeout", "from 1ms to 1d"),
        (["--request-timeout", "nan"], "--request-timeout", "from 1ms to 1d"),
        (["--request-timeout=-5"], "--request-timeout", "from 1ms to 1d"),
        (["--request-timeout", "0"], "--request-timeout", "from 1ms to 1d"),
        (["--request-timeout", "inf"], "--request-timeout", "from 1ms to 1d"),
        (["--request-timeout", "soon"], "--request-timeout", "from 1ms to 1d"),
        (["--list-timeout", "1e30"], "--list-timeout", "from 1ms to 1d"),
        (["--list-timeout", "NaN"], "--list-timeout", "from 1ms to 1d"),
        (["--list-timeout", "0s"], "--list-timeout", "from 1ms to 1d"),
        (["--max-client-requests", "0"], "--max-client-requests", "from 1 to 1000000"),
        (["--max-client-requests=-1"], "--max-client-requests", "from 1 to 1000000"),
        (["--max-client-requests", "1e30"], "--max-client-requests", "from 1 to 1000000"),
        (["--max-client-requests", "99999999999999999999"], "--max-client-requests", "from 1 to 1000000"),
        (["--max-client-requests", "many"], "--max-client-requests", "from 1 to 1000000"),
        (["--http", "127.0.0.1:0", "--session-timeout", "1e30"], "--session-timeout", "from 1s to 30d"),
        (["--http", "127.0.0.1:0", "--session-timeout", "nan"], "--session-timeout", "from 1s to 30d"),
        (["--http", "127.0.0.1:0", "--session-timeout", "0"], "--session-timeout", "from 1s to 30d"),
        (["--http", "127.0.0.1:0", "--shutdown-timeout", "1e30"], "--shutdown-timeout", "from 0s to 1h"),
        (["--http", "127.0.0.1:0", "--shutdown-timeout=-1"], "--shutdown-timeout", "from 0s to 1h"),
        (["--http", "127.0.0.1:0", "--max-body-bytes", "1e30"], "--max-body-bytes", "from 1024 to 1073741824"),
        (["--http", "127.0.0.1:0", "--max-body-bytes", "0"], "--max-body-bytes", "from 1024 to 1073741824"),
        (["--http", "127.0.0.1:0", "--max-body-bytes", "99999999999999999999"], "--max-body-bytes", "from 1024 to 1073741824"),
        (["--http", "127.0.0.1:0", "--max-sessions", "0"], "--max-sessions", "from 1 to 1000000"),
        (["--http", "127.0.0.1:0", "--max-sessions", "2.5"], "--max-sessions", "from 1 to 1000000"),
        (["--http", "127.0.0.1:0", "--replica-id", "a-b"], "--replica-id", "1 to 64 characters"),
        (["--http", "127.0.0.1:0", "--replica-id", "has space"], "--replica-id", "1 to 64 characters"),
        (["--http", "127.0.0.1:0", "--replica-id", String(repeating: "r", count: 65)], "--replica-id", "1 to 64 characters"),
        // Checked also without --http, so a typo does not wait for the day HTTP is switched on.
        (["--session-timeout", "nan"], "--session-timeout", "from 1s to 30d"),
        (["--log-level", "loud"], "--log-level", "trace, debug, info"),
    ]

    @Test(arguments: badFlags)
    func aBadFlagIsAUsageErrorNamingTheOptionAndItsRange(arguments: [String], option: String, range: String) throws {
        let outcome = try launch(arguments)
        #expect(!outcome.bySignal, "mcp-host crashed with signal \(outcome.status): \(outcome.stderr)")
        #expect(outcome.status == 64, "exit status for \(arguments): \(outcome.stderr)")
        #expect(outcome.stderr.contains("Error: \(option): "), "\(outcome.stderr)")
        #expect(outcome.stderr.contains(range), "\(outcome.stderr)")
    }

    static let badEnvironment: [(String, String, String)] = [
        ("MCP_HOST_REQUEST_TIMEOUT", "1e30", "from 1ms to 1d"),
        ("MCP_HOST_REQUEST_TIMEOUT", "nan", "from 1ms to 1d"),
        ("MCP_HOST_REQUEST_TIMEOUT", "-1", "from 1ms to 1d"),
        ("MCP_HOST_REQUEST_TIMEOUT", "0", "from 1ms to 1d"),
        ("MCP_HOST_REQUEST_TIMEOUT", "two minutes", "from 1ms to 1d"),
        ("MCP_HOST_MAX_CLIENT_REQUESTS", "0", "from 1 to 1000000"),
        ("MCP_HOST_MAX_CLIENT_REQUESTS", "1e30", "from 1 to 1000000"),
        ("MCP_HOST_MAX_CLIENT_REQUESTS", "lots", "from 1 to 1000000"),
        ("MCP_HOST_LOG_LEVEL", "loud", "trace, debug, info"),
    ]

    @Test(arguments: badEnvironment)
    func aBadEnvironmentVariableIsAUsageErrorNamingIt(name: String, value: String, range: String) throws {
        let outcome = try launch([], environment: [name: value])
        #expect(!outcome.bySignal, "mcp-host crashed with signal \(outcome.status): \(outcome.stderr)")
        #expect(outcome.status == 64, "exit status for \(name)=\(value): \(outcome.stderr)")
        #expect(outcome.stderr.contains("Error: \(name): "), "\(outcome.stderr)")
        #expect(outcome.stderr.contains(range), "\(outcome.stderr)")
    }

    @Test func theOneShotCommandsCheckTheSameOptions() throws {
        for command in ["tools", "call"] {
            let extra = command == "call" ? ["x__y"] : []
            let outcome = try launch([command, "--request-timeout", "1e30"] + extra)
            #expect(!outcome.bySignal)
            #expect(outcome.status == 64, "\(command): \(outcome.stderr)")
            #expect(outcome.stderr.contains("--request-timeout: '1e30' is too long"), "\(outcome.stderr)")
        }
    }

    @Test func goodValuesInEverySyntaxAreAccepted() throws {
        // stdin is at EOF: the stdio front-end starts, finds nothing to answer and exits 0.
        let outcome = try launch(["--request-timeout", "2m", "--list-timeout", "1500ms", "--max-client-requests", "10",
                                  "--session-timeout", "1h", "--shutdown-timeout", "0", "--max-body-bytes", "65536",
                                  "--max-sessions", "5", "--log-level", "DEBUG"],
                                 environment: ["MCP_HOST_MAX_CLIENT_REQUESTS": "7"])
        #expect(!outcome.bySignal)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let old = try launch(["--request-timeout", "90", "--list-timeout", "0.5"], environment: ["MCP_HOST_REQUEST_TIMEOUT": "30s"])
        #expect(old.status == 0, "a bare number stays seconds: \(old.stderr)")
    }

    @Test func aBadServerGraceDisablesThatServerAndSaysWhy() throws {
        let directory = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try writeConfig(["slow": ["command": "true", "shutdown_grace": "1e30"]], in: directory, name: "bad.json")
        let outcome = try launch(["--config", config, "--log-level", "error"])
        #expect(!outcome.bySignal)
        #expect(outcome.status == 0, "a bad server entry disables that server only: \(outcome.stderr)")
        #expect(outcome.stderr.contains(#"server 'slow': "shutdown_grace": '1e30' is too long; give a duration from 0s to 10m"#), "\(outcome.stderr)")
    }
}
