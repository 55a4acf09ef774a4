import Foundation
@testable import Host
import Testing

/// CanonicalJSON: the same value gives the same bytes whatever the key order of the input, and
/// the bytes parse back to the same value.
@Suite struct CanonicalJSONTests {
    static func parse(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    @Test func keyOrderDoesNotMatterAndValuesRoundTrip() throws {
        let a = try Self.parse(#"{"b":[1,2.5,true,false,null,"x/y"],"a":{"z":"\u00e9\n\"","y":-3},"c":{}}"#)
        let b = try Self.parse(#"{"c":{},"a":{"y":-3,"z":"\u00e9\n\""},"b":[1,2.5,true,false,null,"x/y"]}"#)
        let bytesA = try #require(CanonicalJSON.data(a))
        #expect(CanonicalJSON.data(b) == bytesA)
        let text = String(decoding: bytesA, as: UTF8.self)
        #expect(text.hasPrefix(#"{"a":{"y":-3,"z":"#))
        #expect(text.contains(#""b":[1,2.5,true,false,null,"x/y"]"#))
        let back = try #require(try Self.parse(text) as? NSDictionary)
        #expect(back.isEqual(to: try #require(a as? [String: Any])))
    }

    @Test func somethingJSONCannotHoldIsRefused() {
        #expect(CanonicalJSON.data(["a": Date()]) == nil)
        #expect(CanonicalJSON.data(Double.nan) == nil)
    }
}
