import Testing
@testable import BenchSupport

@Suite struct BenchOptionsTests {
    @Test func defaultsToAllWithFullLengths() throws {
        let options = try BenchOptions.parse([])
        #expect(options.mode == .all)
        #expect(options.effectiveCalls == 50_000)
        #expect(options.effectiveRounds == 3)
        #expect(options.effectiveDuration == 5)
        #expect(options.effectiveScaleSessions == 1000)
    }

    @Test func quickShortensButExplicitValuesWin() throws {
        let quick = try BenchOptions.parse(["scale", "--quick", "--json", "/tmp/r.jsonl"])
        #expect(quick.mode == .scale)
        #expect(quick.jsonPath == "/tmp/r.jsonl")
        #expect(quick.effectiveRounds == 1)
        #expect(quick.effectiveScaleSessions == 200)
        let explicit = try BenchOptions.parse(["stdio", "--quick", "--rounds", "5", "--calls", "7", "--window", "1"])
        #expect(explicit.effectiveRounds == 5)
        #expect(explicit.effectiveCalls == 7)
        #expect(explicit.window == 1)
    }

    @Test func urlRunNeedsATool() throws {
        #expect(throws: BenchError.self) { try BenchOptions.parse(["http", "--url", "http://127.0.0.1:1/mcp"]) }
        #expect(throws: BenchError.self) { try BenchOptions.parse(["stdio", "--url", "http://x/mcp", "--tool", "a__b"]) }
        let options = try BenchOptions.parse(["http", "--url", "http://127.0.0.1:1/mcp", "--tool", "a__echo", "--sse"])
        #expect(options.url == "http://127.0.0.1:1/mcp")
        #expect(options.sse)
    }

    @Test func badInputIsAUsageErrorNamingTheFlag() {
        #expect(throws: BenchError("unknown mode \"fast\"; use one of stdio, http, floor, mix, scale, memory, all, markdown")) {
            try BenchOptions.parse(["fast"])
        }
        #expect(throws: BenchError("--calls \"0\": expected a whole number from 1 to 10000000")) { try BenchOptions.parse(["--calls", "0"]) }
        #expect(throws: BenchError("--duration \"inf\": expected seconds, more than 0 and at most 3600")) { try BenchOptions.parse(["--duration", "inf"]) }
        #expect(throws: BenchError("--json needs a value")) { try BenchOptions.parse(["--json"]) }
        #expect(throws: BenchError.self) { try BenchOptions.parse(["--backend", "python"]) }
        #expect(throws: BenchError.self) { try BenchOptions.parse(["markdown", "--results", "r"]) }
        #expect(throws: BenchError("unknown option \"--fast\"")) { try BenchOptions.parse(["--fast"]) }
    }
}
