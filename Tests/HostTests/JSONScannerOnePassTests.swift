@testable import Host
import Testing

/// `objectDocument` (the one-pass scan the envelope uses) must accept and refuse exactly what
/// `documentRange` followed by `members(ofObject:)` does, with the same failure and members.
@Suite struct JSONScannerOnePassTests {
    static let seeds = [
        #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"a__b","arguments":{"x":[1,2.5e3,"\u00e9\n",true,null]},"_meta":{"progressToken":"t"}}}"#,
        #"  { "id" : "x" , "result" : { "content" : [ ] } }  "#,
        #"{"params":[1,2],"params":{"a":1},"method":"m","jsonrpc":"2.0"}"#,
        #"{"para\u006ds":{"k":{"deep":[[[{}]]]}},"method":"m"}"#,
        #"{}"#,
        #"[{"a":1}]"#,
        #""just a string""#,
    ]

    /// What the two-pass scan finds, as comparable values.
    static func twoPass(_ scanner: JSONScanner) -> String {
        do {
            let range = try scanner.documentRange()
            guard scanner.bytes[range.lowerBound] == UInt8(ascii: "{") else { return "not an object" }
            let members = try scanner.members(ofObject: range)
            let params = scanner.first("params", among: members).flatMap { member -> [JSONScanner.Member]? in
                scanner.bytes[member.value.lowerBound] == UInt8(ascii: "{") ? try? scanner.members(ofObject: member.value) : nil
            }
            return "\(range) \(members) \(String(describing: params))"
        } catch {
            return "failure \(error)"
        }
    }

    static func onePass(_ scanner: JSONScanner) -> String {
        do {
            guard let (range, members, params) = try scanner.objectDocument(nested: "params") else {
                _ = try scanner.documentRange()
                return "not an object"
            }
            return "\(range) \(members) \(String(describing: params))"
        } catch {
            return "failure \(error)"
        }
    }

    @Test(arguments: seeds)
    func everyTruncationAndByteChangeScansAlike(seed: String) {
        let bytes = Array(seed.utf8)
        var variants: [[UInt8]] = []
        for end in 0...bytes.count { variants.append(Array(bytes[..<end])) }
        for i in bytes.indices {
            for replacement in [UInt8(ascii: "}"), UInt8(ascii: "\""), UInt8(ascii: ","), UInt8(ascii: "{"), 0x0A, 0x00] {
                var changed = bytes
                changed[i] = replacement
                variants.append(changed)
            }
        }
        for variant in variants {
            let scanner = JSONScanner(variant)
            #expect(Self.onePass(scanner) == Self.twoPass(scanner), "\(String(decoding: variant, as: UTF8.self))")
        }
    }

    @Test func tooDeepIsRefusedAlike() {
        let deep = Array(("{\"params\":" + String(repeating: "[", count: 300) + String(repeating: "]", count: 300) + "}").utf8)
        let scanner = JSONScanner(deep)
        #expect(Self.onePass(scanner) == "failure tooDeep")
        #expect(Self.twoPass(scanner) == "failure tooDeep")
    }
}
