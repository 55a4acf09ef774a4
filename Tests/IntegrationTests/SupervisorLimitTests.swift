import Foundation
import Testing

/// mcph-supervisor gives a backend the open-file limit the host was started with
/// (`MCPH_ORIGINAL_NOFILE`, set by a host that raised its own limit for HTTP sessions), closes
/// every inherited descriptor whatever the limit, and keeps the variable from the backend.
@Suite struct SupervisorLimitTests {
    static var supervisor: String { Paths.buildDir + "/mcph-supervisor" }

    func run(environment extra: [String: String], script: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.supervisor)
        process.arguments = ["--grace-ms", "500", "--", "/bin/sh", "-c", script]
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in extra { environment[k] = v }
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func theBackendGetsTheOriginalLimitAndNotTheVariable() throws {
        let result = try run(environment: ["MCPH_ORIGINAL_NOFILE": "333"],
                             script: #"echo "limit=$(ulimit -n) var=${MCPH_ORIGINAL_NOFILE:-unset}""#)
        #expect(result.status == 0)
        #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines) == "limit=333 var=unset")
    }

    @Test func aGarbledOrImpossibleValueChangesNothing() throws {
        let before = try run(environment: [:], script: "ulimit -n").output
        for value in ["", "abc", "12x", "-1", "99999999999999999999999", "18446744073709551615"] {
            let result = try run(environment: ["MCPH_ORIGINAL_NOFILE": value],
                                 script: #"echo "$(ulimit -n) ${MCPH_ORIGINAL_NOFILE:-unset}""#)
            #expect(result.status == 0, "\(value)")
            #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines)
                        == before.trimmingCharacters(in: .whitespacesAndNewlines) + " unset", "\(value)")
        }
    }
}
