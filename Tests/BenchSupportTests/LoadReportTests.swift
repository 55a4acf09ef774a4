import Testing
@testable import BenchSupport

@Suite struct LoadReportTests {
    static let sample = #"{"sessions":64,"calls":123456,"errors":2,"error_kinds":{"status":1,"jsonrpc":0,"timeout":1,"closed":0},"seconds":5.0,"calls_per_second":24691.2,"latency_us":{"p50":2100,"p90":3000.5,"p99":4800,"p999":9000,"max":15000,"mean":2500.25},"per_session":{"min":1800,"p50":1929,"max":2050},"open_seconds":0.8,"get_streams":0}"#

    @Test func parsesEveryField() throws {
        let report = try LoadReport.parse(Self.sample + "\n")
        #expect(report.sessions == 64)
        #expect(report.calls == 123456)
        #expect(report.errors == 2)
        #expect(report.errorKinds == ["status": 1, "jsonrpc": 0, "timeout": 1, "closed": 0])
        #expect(report.seconds == 5.0)
        #expect(report.callsPerSecond == 24691.2)
        #expect(report.latencyMicroseconds?.p50 == 2100)
        #expect(report.latencyMicroseconds?.p90 == 3000.5)
        #expect(report.latencyMicroseconds?.p99 == 4800)
        #expect(report.latencyMicroseconds?.p999 == 9000)
        #expect(report.latencyMicroseconds?.mean == 2500.25)
        #expect(report.perSession?.spread == Spread(min: 1800, median: 1929, max: 2050))
        #expect(report.openSeconds == 0.8)
        #expect(report.getStreams == 0)
    }

    @Test func takesTheLastJSONLineAndIgnoresOtherOutput() throws {
        let output = "warming up\n{\"calls\":1,\"errors\":0,\"seconds\":1}\n" + Self.sample + "\n\n"
        #expect(try LoadReport.parse(output).calls == 123456)
    }

    @Test func derivesTheRateWhenAbsentAndToleratesMissingOptionalFields() throws {
        let report = try LoadReport.parse(#"{"calls":600,"errors":0,"seconds":2,"extra":true}"#)
        #expect(report.callsPerSecond == 300)
        #expect(report.latencyMicroseconds == nil)
        #expect(report.perSession == nil)
        #expect(report.errorKinds.isEmpty)
    }

    @Test func rejectsOutputWithoutAReport() {
        #expect(throws: BenchError.self) { try LoadReport.parse("") }
        #expect(throws: BenchError.self) { try LoadReport.parse("error: could not connect\n") }
        #expect(throws: BenchError.self) { try LoadReport.parse(#"{"calls":"many"}"#) }
        #expect(throws: BenchError.self) { try LoadReport.parse(#"{"sessions":3"#) }
    }
}
