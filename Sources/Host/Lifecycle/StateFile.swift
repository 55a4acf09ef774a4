#if canImport(Glibc)
import Glibc
#endif

/// Files the host keeps in its state directory (the catalog cache): trusted only when they are
/// ours and nobody else can write them, read with a size bound, written atomically.
enum StateFile {
    /// Why `path` cannot be trusted, or nil: it is not a directory / regular file as expected, is a
    /// symbolic link, belongs to another user, or is writable by group or others.
    static func unsafeness(_ path: String, directory: Bool) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return "cannot stat \(path): \(errorText())" }
        return unsafeness(info, path: path, directory: directory)
    }

    private static func unsafeness(_ info: stat, path: String, directory: Bool) -> String? {
        let type = info.st_mode & S_IFMT
        if type != (directory ? S_IFDIR : S_IFREG) { return "\(path) is not a \(directory ? "directory" : "regular file")" }
        if info.st_uid != getuid() { return "\(path) belongs to uid \(info.st_uid), not to this user (uid \(getuid()))" }
        if info.st_mode & 0o022 != 0 {
            return "\(path) is writable by group or others (mode \(String(info.st_mode & 0o7777, radix: 8))); make it 0\(directory ? "700" : "600") to use it"
        }
        return nil
    }

    /// Whether anything (a file, a directory, a dangling link) is at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// `mkdir -p`, each directory it creates with mode 0700; whether `path` is a directory after.
    static func makeDirectories(_ path: String) -> Bool {
        var info = stat()
        if stat(path, &info) == 0 { return (info.st_mode & S_IFMT) == S_IFDIR }
        let parent = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ""
        if !parent.isEmpty && parent != path && !makeDirectories(parent) { return false }
        return mkdir(path, 0o700) == 0 || errno == EEXIST
    }

    enum ReadResult {
        case bytes([UInt8])
        case missing
        /// Not ours, writable by others, not a regular file: not used.
        case untrusted(String)
        /// Unreadable or larger than the limit.
        case unreadable(String)
    }

    /// The content of `path`, at most `limit` bytes. The ownership and mode are checked on the
    /// open descriptor (no symbolic link is followed), so the file checked is the file read.
    static func read(_ path: String, limit: Int) -> ReadResult {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else {
            if errno == ENOENT { return .missing }
            if errno == ELOOP { return .untrusted("\(path) is a symbolic link") }
            return .unreadable("cannot open \(path): \(errorText())")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .unreadable("cannot stat \(path): \(errorText())") }
        if let problem = unsafeness(info, path: path, directory: false) { return .untrusted(problem) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n < 0 {
                if errno == EINTR { continue }
                return .unreadable("cannot read \(path): \(errorText())")
            }
            if n == 0 { return .bytes(out) }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit { return .unreadable("\(path) is larger than \(limit) bytes") }
        }
    }

    /// Writes `bytes` to `path` atomically: a new temporary file (0600) beside it, fsync, rename,
    /// then fsync of the directory. Returns an error message, or nil.
    static func writeAtomically(_ bytes: [UInt8], to path: String) -> String? {
        let temporary = path + ".tmp.\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return "cannot create \(temporary): \(errorText())" }
        _ = fchmod(fd, 0o600) // whatever the umask
        var offset = 0
        var failure: String?
        bytes.withUnsafeBytes { raw in
            while offset < raw.count, let base = raw.baseAddress {
                let n = write(fd, base + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = "cannot write \(temporary): \(errorText())"
                    return
                }
                offset += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = "cannot sync \(temporary): \(errorText())" }
        close(fd)
        if failure == nil, rename(temporary, path) != 0 { failure = "cannot rename \(temporary) to \(path): \(errorText())" }
        if let failure {
            unlink(temporary)
            return failure
        }
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let dirFD = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD) // the rename itself survives a crash
            close(dirFD)
        }
        return nil
    }

    /// Names and modification times (seconds since the epoch) of the regular files in `directory`.
    static func files(in directory: String) -> [(name: String, modified: Int)] {
        guard let names = HostPaths.listDirectory(directory) else { return [] }
        return names.compactMap { name in
            var info = stat()
            guard lstat(directory + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
            return (name, Int(info.st_mtim.tv_sec))
        }
    }

    /// Sets a file's modification time to now (a cache entry in use is not pruned).
    static func touch(_ path: String) {
        _ = utimensat(AT_FDCWD, path, nil, AT_SYMLINK_NOFOLLOW)
    }

    static func errorText() -> String { String(cString: strerror(errno)) }
}
