/// JSON string escaping and unescaping (RFC 8259 §7), for the few strings the host reads or writes.
public enum JSONString {
    /// Decodes the content of a JSON string (the bytes between the quotes). Invalid escapes decode
    /// leniently (kept as written); the scanner has already checked the string's structure.
    public static func decode<C: Collection>(_ content: C) -> String where C.Element == UInt8 {
        guard content.contains(UInt8(ascii: "\\")) else { return String(decoding: content, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(content.count)
        var i = content.startIndex
        func next() -> UInt8? {
            guard i < content.endIndex else { return nil }
            defer { i = content.index(after: i) }
            return content[i]
        }
        func hex4() -> UInt32? {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let h = next(), let digit = hexValue(h) else { return nil }
                value = value << 4 | digit
            }
            return value
        }
        while let b = next() {
            guard b == UInt8(ascii: "\\"), let e = next() else { out.append(b); continue }
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                guard var scalar = hex4() else { continue }
                if (0xD800...0xDBFF).contains(scalar) {
                    // A high surrogate must be followed by \uDC00-\uDFFF.
                    let save = i
                    if next() == UInt8(ascii: "\\"), next() == UInt8(ascii: "u"), let low = hex4(),
                       (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        i = save
                        scalar = 0xFFFD
                    }
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    scalar = 0xFFFD
                }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8))
            default: out.append(e) // \" \\ \/
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The JSON encoding of `text`, quotes included.
    public static func encode(_ text: String) -> [UInt8] {
        let utf8 = text.utf8
        if utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            // Nothing to escape (the common case: tool names, ids).
            return [UInt8](unsafeUninitializedCapacity: utf8.count + 2) { out, count in
                out[0] = UInt8(ascii: "\"")
                var i = 1
                for b in utf8 { out[i] = b; i += 1 }
                out[i] = UInt8(ascii: "\"")
                count = i + 1
            }
        }
        var out: [UInt8] = [UInt8(ascii: "\"")]
        out.reserveCapacity(utf8.count + 2)
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    private static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(b - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }
}
