#if canImport(Glibc)
import Glibc
#endif

/// The symbols a shared library exports: the defined, global (or weak) symbols of default or
/// protected visibility in its dynamic symbol table (`.dynsym`), which `dlsym` and the dynamic
/// linker can see. Read from the ELF file itself (what `nm -D --defined-only` shows in capitals),
/// with every offset and size checked against the file, so a truncated or hostile file is an
/// error, never a crash. ELF32 and ELF64, either byte order.
enum ELFExports {
    /// Symbols the linker defines in every shared object: exporting them is not the plugin's doing.
    static let linkerSymbols: Set<String> = ["_init", "_fini", "__bss_start", "_edata", "_end", "__bss_start__",
                                             "_bss_end__", "__bss_end__", "__end__", "_etext", "etext", "edata", "end"]

    struct Unreadable: Error { let reason: String }

    /// Reads `count` bytes at `offset`, or nil when the file is shorter.
    typealias Reader = (_ offset: UInt64, _ count: Int) -> [UInt8]?

    /// The names of the exported symbols of the file at `path`.
    static func exportedSymbols(path: String) throws(Unreadable) -> [String] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Unreadable(reason: "cannot open the file (errno \(errno))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size >= 0 else { throw Unreadable(reason: "cannot stat the file (errno \(errno))") }
        let fileSize = UInt64(info.st_size)
        return try exportedSymbols { offset, count in
            // Nothing is allocated for a range the file does not hold: a hostile section header
            // (the dynamic loader never reads them) cannot make the validator allocate gigabytes.
            guard count >= 0, offset <= fileSize, UInt64(count) <= fileSize - offset else { return nil }
            var bytes = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let n = bytes.withUnsafeMutableBytes { buffer in
                    pread(fd, buffer.baseAddress! + done, count - done, off_t(Int64(offset) &+ Int64(done)))
                }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return nil }
                done += n
            }
            return bytes
        }
    }

    /// The names of the exported symbols of the ELF image `read` gives access to.
    static func exportedSymbols(_ read: Reader) throws(Unreadable) -> [String] {
        guard let ident = read(0, 16), ident[0] == 0x7F, ident[1] == UInt8(ascii: "E"), ident[2] == UInt8(ascii: "L"), ident[3] == UInt8(ascii: "F") else {
            throw Unreadable(reason: "not an ELF file")
        }
        let is64: Bool
        switch ident[4] {
        case 1: is64 = false
        case 2: is64 = true
        default: throw Unreadable(reason: "unknown ELF class \(ident[4])")
        }
        let little: Bool
        switch ident[5] {
        case 1: little = true
        case 2: little = false
        default: throw Unreadable(reason: "unknown ELF byte order \(ident[5])")
        }
        let field = FieldReader(littleEndian: little)

        guard let header = read(0, is64 ? 64 : 52) else { throw Unreadable(reason: "truncated ELF header") }
        let sectionOffset = is64 ? field.u64(header, 0x28) : UInt64(field.u32(header, 0x20))
        let entrySize = Int(field.u16(header, is64 ? 0x3A : 0x2E))
        var count = UInt64(field.u16(header, is64 ? 0x3C : 0x30))
        guard sectionOffset != 0 else { throw Unreadable(reason: "no section headers (stripped with sstrip?)") }
        guard entrySize >= (is64 ? 64 : 40) else { throw Unreadable(reason: "section header size \(entrySize) is too small") }

        func section(_ index: UInt64) throws(Unreadable) -> Section {
            let (product, overflow) = index.multipliedReportingOverflow(by: UInt64(entrySize))
            let (offset, overflow2) = sectionOffset.addingReportingOverflow(product)
            guard !overflow, !overflow2, let bytes = read(offset, entrySize) else {
                throw Unreadable(reason: "section header \(index) lies outside the file")
            }
            return is64
                ? Section(type: field.u32(bytes, 4), offset: field.u64(bytes, 24), size: field.u64(bytes, 32),
                          link: field.u32(bytes, 40), entrySize: field.u64(bytes, 56))
                : Section(type: field.u32(bytes, 4), offset: UInt64(field.u32(bytes, 16)), size: UInt64(field.u32(bytes, 20)),
                          link: field.u32(bytes, 24), entrySize: UInt64(field.u32(bytes, 36)))
        }
        if count == 0 { count = try section(0).size } // extended numbering: the count is in section 0
        guard count <= 65_536 else { throw Unreadable(reason: "\(count) sections: not a plausible shared library") }

        var dynamicSymbols: Section?
        for index in 0..<count {
            let candidate = try section(index)
            if candidate.type == 11 { // SHT_DYNSYM
                dynamicSymbols = candidate
                break
            }
        }
        guard let symbols = dynamicSymbols else { return [] } // no dynamic symbols: exports nothing
        let strings = try section(UInt64(symbols.link))
        let symbolSize = UInt64(is64 ? 24 : 16)
        guard symbols.entrySize == 0 || (symbols.entrySize >= symbolSize && symbols.entrySize <= 4096) else {
            throw Unreadable(reason: "dynamic symbol size \(symbols.entrySize) is implausible")
        }
        guard symbols.size <= 1 << 32 else { throw Unreadable(reason: "the dynamic symbol table is implausibly large") }
        let stride = max(symbols.entrySize, symbolSize)
        let total = symbols.size / stride
        guard total <= 10_000_000, let table = read(symbols.offset, Int(total * stride)) else {
            throw Unreadable(reason: "the dynamic symbol table lies outside the file")
        }
        guard strings.size <= 1 << 30, let names = read(strings.offset, Int(strings.size)) else {
            throw Unreadable(reason: "the dynamic string table lies outside the file")
        }

        var exported: [String] = []
        for index in 0..<Int(total) {
            let base = index * Int(stride)
            let nameOffset = Int(field.u32(table, base))
            let info = table[base + (is64 ? 4 : 12)]
            let other = table[base + (is64 ? 5 : 13)]
            let sectionIndex = field.u16(table, base + (is64 ? 6 : 14))
            let value = is64 ? field.u64(table, base + 8) : UInt64(field.u32(table, base + 4))
            let size = is64 ? field.u64(table, base + 16) : UInt64(field.u32(table, base + 8))
            let binding = info >> 4, visibility = other & 3
            guard sectionIndex != 0 else { continue } // SHN_UNDEF: imported, not defined here
            guard binding == 1 || binding == 2 || binding == 10 else { continue } // GLOBAL, WEAK, GNU_UNIQUE
            guard visibility == 0 || visibility == 3 else { continue } // DEFAULT, PROTECTED
            if sectionIndex == 0xFFF1 && value == 0 && size == 0 { continue } // SHN_ABS version node (a version script's name)
            guard nameOffset < names.count else { throw Unreadable(reason: "symbol \(index) has a name outside the string table") }
            let end = names[nameOffset...].firstIndex(of: 0) ?? names.count
            exported.append(String(decoding: names[nameOffset..<end], as: UTF8.self))
        }
        return exported
    }

    private struct Section {
        let type: UInt32
        let offset: UInt64
        let size: UInt64
        let link: UInt32
        let entrySize: UInt64
    }

    /// Fixed-size integers at byte offsets of a buffer the caller checked is long enough.
    private struct FieldReader {
        let littleEndian: Bool

        func u16(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(truncatingIfNeeded: integer(bytes, at, 2)) }
        func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 { UInt32(truncatingIfNeeded: integer(bytes, at, 4)) }
        func u64(_ bytes: [UInt8], _ at: Int) -> UInt64 { integer(bytes, at, 8) }

        private func integer(_ bytes: [UInt8], _ at: Int, _ width: Int) -> UInt64 {
            var value: UInt64 = 0
            for i in 0..<width {
                let byte = UInt64(bytes[at + (littleEndian ? width - 1 - i : i)])
                value = value << 8 | byte
            }
            return value
        }
    }
}
