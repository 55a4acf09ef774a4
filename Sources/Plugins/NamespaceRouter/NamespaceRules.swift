/// The default naming rules: `server__name` for tools and prompts; resources keep their URIs.
///
/// Tool names must be 1–128 characters of `[A-Za-z0-9_.-]` (MCP 2025-11-25 guidance). When the
/// prefixed name is longer or has other characters, it is shortened deterministically: illegal
/// characters become `_`, the name is cut to fit, and `_` plus 8 hex digits of an FNV-1a hash of
/// the full original (`server__name`) is appended, so different originals stay distinct.
enum NamespaceRules {
    static let separator = "__"
    static let maximumToolNameLength = 128

    static func exposedToolName(backend: String, name: String) -> String {
        let full = backend + separator + name
        let legal = full.utf8.allSatisfy(isLegal)
        if legal && full.utf8.count <= maximumToolNameLength { return full }
        let sanitized = String(decoding: full.utf8.map { isLegal($0) ? $0 : UInt8(ascii: "_") }, as: UTF8.self)
        let suffix = "_" + hex8(fnv1a32(Array(full.utf8)))
        return String(sanitized.utf8.prefix(maximumToolNameLength - suffix.utf8.count))! + suffix
    }

    static func exposedPromptName(backend: String, name: String) -> String {
        backend + separator + name
    }

    /// Splits `server__name` at the first separator.
    static func split(_ exposed: String) -> (backend: String, name: String)? {
        guard let range = exposed.firstRange(of: separator), range.lowerBound != exposed.startIndex,
              range.upperBound != exposed.endIndex else { return nil }
        return (String(exposed[..<range.lowerBound]), String(exposed[range.upperBound...]))
    }

    static func isLegal(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    static func fnv1a32(_ bytes: [UInt8]) -> UInt32 {
        var hash: UInt32 = 0x811C_9DC5
        for b in bytes {
            hash ^= UInt32(b)
            hash = hash &* 0x0100_0193
        }
        return hash
    }

    static func hex8(_ value: UInt32) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: (0..<8).reversed().map { digits[Int((value >> (UInt32($0) * 4)) & 0xF)] }, as: UTF8.self)
    }
}
