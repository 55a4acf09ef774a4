import Foundation

/// JSON for a parsed configuration value with its object keys in a fixed order (Swift's `<` on
/// the key strings), so the same entry always gives the same bytes (reload compares entries by
/// them; the catalog cache keys on them).
///
/// Written here rather than with `JSONSerialization`'s `.sortedKeys`: that option compares keys
/// through a `Locale`, whose creation loads ICU's locale data into the host (about 5 MB of
/// resident memory, for sorting a few ASCII keys). Scalars are still written by
/// `JSONSerialization`, so numbers and booleans come out exactly as before.
enum CanonicalJSON {
    /// The bytes of `value` (what `JSONSerialization` produced from JSON), or nil when it holds
    /// something JSON cannot express.
    static func data(_ value: Any) -> [UInt8]? {
        var out: [UInt8] = []
        return write(value, into: &out, depth: 0) ? out : nil
    }

    /// Nesting bound (configuration files are shallow; a cycle cannot come from parsed JSON).
    private static let maximumDepth = 256

    private static func write(_ value: Any, into out: inout [UInt8], depth: Int) -> Bool {
        guard depth < maximumDepth else { return false }
        if let object = value as? [String: Any] {
            out.append(UInt8(ascii: "{"))
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: JSONString.encode(key))
                out.append(UInt8(ascii: ":"))
                guard let member = object[key], write(member, into: &out, depth: depth + 1) else { return false }
            }
            out.append(UInt8(ascii: "}"))
            return true
        }
        if let array = value as? [Any] {
            out.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                guard write(element, into: &out, depth: depth + 1) else { return false }
            }
            out.append(UInt8(ascii: "]"))
            return true
        }
        if let text = value as? String {
            out.append(contentsOf: JSONString.encode(text))
            return true
        }
        guard let scalar = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .withoutEscapingSlashes]) else {
            return false
        }
        out.append(contentsOf: scalar)
        return true
    }
}
