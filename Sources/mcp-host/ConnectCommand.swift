import ArgumentParser
import Foundation
import Host

/// `mcp-host connect`: a thin stdio bridge to the user's shared host, for clients that can only
/// spawn a stdio server. It needs no concurrency runtime: one thread, one `poll` loop.
struct ConnectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect",
        abstract: "Bridge stdin/stdout to the shared host on a Unix socket, starting the host in the background when none runs.",
        discussion: """
            Configure a stdio-only client with {"command": "mcp-host", "args": ["connect"]} and every such \
            client shares one host, so each backend runs once. The options below (except --socket) only \
            matter when this bridge starts the host; a running host keeps the options it was started with. \
            The host started here exits after --exit-when-idle (default 10m) with no client, and logs to \
            <state dir>/host.log. See docs/shared-host.md.
            """)

    @OptionGroup var options: CoreOptions

    @OptionGroup var socketOptions: SocketOptions

    /// `--exit-when-idle` of a host started by a bridge, unless the bridge is given one.
    static let defaultExitWhenIdle = "10m"

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let environment = ProcessInfo.processInfo.environment
        guard let path = try socketOptions.socketPath(environment: environment, orDefault: true) else { return }
        let stateDirectory = HostPaths.stateDirectory(flag: options.plugins.stateDirectory, environment: environment)
        let launcher = SharedHostLauncher(
            path: path,
            hostArguments: ["serve", "--socket", path.socket, "--exit-when-idle", socketOptions.exitWhenIdle ?? Self.defaultExitWhenIdle]
                + options.forwardedArguments,
            logFile: stateDirectory + "/host.log")
        let socket: Int32
        do {
            socket = try launcher.connect()
        } catch {
            Self.complain("cannot reach the shared host: \(error)")
            throw ExitCode.failure
        }
        switch SocketBridge.run(socket: socket) {
        case .finished, .clientGone:
            return
        case .hostClosed:
            Self.complain("the shared host closed the connection (it stopped or ended this session); its log is \(launcher.logFile)")
            throw ExitCode.failure
        }
    }

    /// One line on stderr (stdout carries protocol only).
    static func complain(_ message: String) {
        FileHandle.standardError.write(Data("mcp-host connect: \(message)\n".utf8))
    }
}
