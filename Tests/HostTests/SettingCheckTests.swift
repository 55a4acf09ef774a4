import Foundation
import Testing
@testable import Host

@Suite struct DurationSyntaxTests {
    @Test(arguments: [
        ("500ms", 0.5), ("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86400), ("1m30s", 90),
        ("1.5s", 1.5), ("120", 120), ("0.25", 0.25), (" 2s ", 2), ("0", 0), ("1e3", 1000), ("1h1ms", 3600.001),
    ])
    func parsesTheOneSyntax(text: String, seconds: Double) throws {
        #expect(abs(try DurationSyntax.parse(text) - seconds) < 1e-9)
    }

    @Test(arguments: [
        ("nan", "not a number"), ("NaN", "not a number"), ("-5", "negative"), ("-5s", "negative"),
        ("inf", "infinite"), ("infinity", "infinite"), ("", "empty"), ("abc", "not a duration"),
        ("5x", "unknown unit 'x'"), ("5 s", "unknown unit ' s'"), ("s", "not a duration"), ("1s5", "without a unit"),
        (".s", "not a duration"), ("1..2s", "not a duration"),
    ])
    func rejectsWhatIsNeverADuration(text: String, reason: String) {
        #expect {
            try DurationSyntax.parse(text)
        } throws: { error in
            let message = (error as? DurationSyntax.ParseError)?.message ?? ""
            return message.contains(reason) && message.contains("500ms, 30s")
        }
    }

    @Test func parsesJSONStringsAndNumbers() throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(#"{"a": "2m", "b": 1.5, "c": 3, "d": true, "e": null, "f": [1], "g": -1}"#.utf8)) as? [String: Any])
        #expect(try DurationSyntax.parse(json: object["a"]!) == 120)
        #expect(try DurationSyntax.parse(json: object["b"]!) == 1.5)
        #expect(try DurationSyntax.parse(json: object["c"]!) == 3)
        #expect(throws: DurationSyntax.ParseError.self) { try DurationSyntax.parse(json: object["d"]!) }
        #expect(throws: DurationSyntax.ParseError.self) { try DurationSyntax.parse(json: object["e"]!) }
        #expect(throws: DurationSyntax.ParseError.self) { try DurationSyntax.parse(json: object["f"]!) }
        #expect(throws: DurationSyntax.ParseError.self) { try DurationSyntax.parse(json: object["g"]!) }
    }

    @Test func formatsForMessages() {
        #expect(DurationSyntax.format(0.001) == "1ms")
        #expect(DurationSyntax.format(86_400) == "1d")
        #expect(DurationSyntax.format(90) == "90s")
        #expect(DurationSyntax.format(600) == "10m")
        #expect(DurationSyntax.format(0) == "0s")
    }
}

@Suite struct SettingCheckTests {
    let range = HostOptions.Limits.requestTimeout

    @Test func durationsOutsideTheRangeNameTheSettingAndTheRange() throws {
        for (text, reason) in [("1e30", "too long"), ("0", "zero"), ("0.0001", "too short"), ("2d", "too long"), ("nan", "not a number")] {
            #expect {
                try SettingCheck.duration(text, setting: "--request-timeout", range: range)
            } throws: { error in
                let text = "\(error)"
                return text.hasPrefix("--request-timeout: ") && text.contains(reason) && text.contains("from 1ms to 1d")
            }
        }
        #expect(try SettingCheck.duration("1d", setting: "x", range: range) == 86_400)
        #expect(try SettingCheck.duration("1ms", setting: "x", range: range) == 0.001)
    }

    @Test func integersAreWholeAndInRange() throws {
        let limits = HostOptions.Limits.maxInFlightPerClient
        #expect(try SettingCheck.integer("256", setting: "--max-client-requests", range: limits) == 256)
        for (text, reason) in [("0", "too small"), ("-1", "too small"), ("1000001", "too large"), ("1.5", "not a whole number"),
                               ("abc", "not a whole number"), ("99999999999999999999", "out of range"), ("", "empty"), ("nan", "not a whole number")] {
            #expect {
                try SettingCheck.integer(text, setting: "--max-client-requests", range: limits)
            } throws: { error in
                let text = "\(error)"
                return text.hasPrefix("--max-client-requests: ") && text.contains(reason) && text.contains("from 1 to 1000000")
            }
        }
    }

    @Test func jsonIntegersRefuseBooleansFractionsAndHugeValues() throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(#"{"ok": 3000, "t": true, "f": 2.5, "huge": 1e30, "s": "3000", "neg": -1}"#.utf8)) as? [String: Any])
        let limits = HostOptions.Limits.shutdownGraceMs
        #expect(try SettingCheck.integer(json: object["ok"]!, setting: "k", range: limits) == 3000)
        for key in ["t", "f", "huge", "s", "neg"] {
            #expect(throws: SettingError.self, "\(key)") { try SettingCheck.integer(json: object[key]!, setting: "k", range: limits) }
        }
    }
}
