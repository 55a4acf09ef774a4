#if canImport(Glibc)
import Glibc
#endif

/// The byte pump of `mcp-host connect`: stdin to the socket and the socket to stdout, unchanged,
/// on one thread with `poll` (no concurrency runtime, no framing, no parsing).
///
/// - stdin EOF: once what was read is sent, the socket's write side is shut down
///   (`SHUT_WR`); the host answers what it was asked and closes, which ends the pump.
/// - socket EOF: what was received is written out, then the pump ends.
/// - stdout gone (the client closed its end): the pump ends at once.
///
/// Bounds: at most one read (64 KiB) waits in each direction; nothing more is read from a side
/// until it has been written to the other. stdout is written at most `PIPE_BUF` bytes at a time
/// after `poll` reported it writable, so the pump never blocks on it while the other direction
/// has work (stdin and stdout are left in blocking mode: they may be shared with the client).
public enum SocketBridge {
    public enum Outcome: Equatable, Sendable {
        /// The client closed stdin and the host then closed the connection: a normal end.
        case finished
        /// The client stopped reading stdout.
        case clientGone
        /// The host closed the connection while the client was still sending (it stopped or was
        /// killed, or ended the session).
        case hostClosed
    }

    static let chunk = 65536
    static let outputChunk = Int(PIPE_BUF)

    /// Pumps until one of the ends in `Outcome`. `socket` is a connected stream socket, owned
    /// (and closed) here.
    public static func run(socket: Int32, input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO) -> Outcome {
        defer { close(socket) }
        let flags = fcntl(socket, F_GETFL)
        _ = fcntl(socket, F_SETFL, flags | O_NONBLOCK)
        var toHost = Pending()
        var toClient = Pending()
        var inputOpen = true
        var writeShut = false
        var hostOpen = true
        /// The host stopped taking input while the client still had some for it.
        var hostRefusedInput = false
        var buffer = [UInt8](repeating: 0, count: chunk)

        while true {
            if !inputOpen && toHost.isEmpty && !writeShut {
                shutdown(socket, Int32(SHUT_WR))
                writeShut = true
            }
            if !hostOpen && toClient.isEmpty { return inputOpen || hostRefusedInput ? .hostClosed : .finished }

            var fds: [pollfd] = []
            let inputIndex = inputOpen && toHost.isEmpty ? append(&fds, input, POLLIN) : -1
            var socketEvents: Int32 = 0
            if !toHost.isEmpty { socketEvents |= Int32(POLLOUT) }
            if hostOpen && toClient.isEmpty { socketEvents |= Int32(POLLIN) }
            let socketIndex = socketEvents != 0 ? append(&fds, socket, socketEvents) : -1
            let outputIndex = !toClient.isEmpty ? append(&fds, output, POLLOUT) : -1
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                return inputOpen || hostRefusedInput ? .hostClosed : .finished // cannot happen with valid descriptors
            }

            if inputIndex >= 0, fds[inputIndex].revents != 0 {
                let n = read(input, &buffer, chunk)
                if n > 0 {
                    toHost.append(buffer[0..<n])
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    inputOpen = false
                }
            }
            if socketIndex >= 0 {
                let events = fds[socketIndex].revents
                if events & Int16(POLLOUT) != 0 || (!toHost.isEmpty && events & Int16(POLLERR | POLLHUP) != 0) {
                    let n = toHost.withBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if n > 0 {
                        toHost.consume(n)
                    } else if n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK {
                        // The host takes nothing more: stop reading the client's input.
                        toHost = Pending()
                        inputOpen = false
                        writeShut = true
                        hostRefusedInput = true
                    }
                }
                if hostOpen && toClient.isEmpty && events & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                    let n = recv(socket, &buffer, chunk, 0)
                    if n > 0 {
                        toClient.append(buffer[0..<n])
                    } else if n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
                        hostOpen = false
                    }
                }
            }
            if outputIndex >= 0 {
                let events = fds[outputIndex].revents
                if events & Int16(POLLOUT) != 0 {
                    let n = toClient.withBytes { write(output, $0.baseAddress, min($0.count, outputChunk)) }
                    if n > 0 {
                        toClient.consume(n)
                    } else if n < 0 && errno != EINTR && errno != EAGAIN {
                        return .clientGone
                    }
                } else if events & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
                    return .clientGone
                }
            }
        }
    }

    private static func append(_ fds: inout [pollfd], _ fd: Int32, _ events: Int32) -> Int {
        fds.append(pollfd(fd: fd, events: Int16(events), revents: 0))
        return fds.count - 1
    }

    /// Bytes read from one side and not yet written to the other.
    struct Pending {
        private var bytes: [UInt8] = []
        private var offset = 0

        var isEmpty: Bool { offset >= bytes.count }

        mutating func append(_ more: ArraySlice<UInt8>) {
            if isEmpty {
                bytes.removeAll(keepingCapacity: true)
                offset = 0
            }
            bytes.append(contentsOf: more)
        }

        func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
            bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
        }

        mutating func consume(_ count: Int) { offset += min(count, bytes.count - offset) }
    }
}
