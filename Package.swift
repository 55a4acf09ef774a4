// swift-tools-version:6.0
import PackageDescription

/// Each bundled plugin exports exactly one symbol (its versioned entry point); everything else stays
/// local so that a plugin can never interpose a symbol of the host or of another plugin.
let pluginLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(["-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/PluginAPI/plugin.exports"])
]

let package = Package(
    name: "mcp-host",
    products: [
        .executable(name: "mcp-host", targets: ["mcp-host"]),
        .executable(name: "mcph-supervisor", targets: ["Supervisor"]),
        .executable(name: "mcp-example-server", targets: ["ExampleServer"]),
        .executable(name: "mcp-host-bench", targets: ["Benchmarks"]),
        .executable(name: "mcp-bench-echo", targets: ["BenchEchoServer"]),
        .executable(name: "mcp-bench-load", targets: ["BenchLoad"]),
        .library(name: "mcph-stdio", type: .dynamic, targets: ["StdioTransport"]),
        .library(name: "mcph-namespace-router", type: .dynamic, targets: ["NamespaceRouter"]),
        .library(name: "mcph-cli", type: .dynamic, targets: ["CLITransport"]),
        .library(name: "mcph-http", type: .dynamic, targets: ["HTTPTransport"]),
        .library(name: "mcph-filter-router", type: .dynamic, targets: ["FilterRouter"]),
        .library(name: "mcph-alias-router", type: .dynamic, targets: ["AliasRouter"]),
        .library(name: "mcph-tcp", type: .dynamic, targets: ["TCPTransport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", exact: "0.12.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // The stable C ABI: a header and nothing else.
        .target(name: "PluginAPI", path: "Sources/PluginAPI", exclude: ["plugin.exports"]),

        // Blocking line I/O on dedicated threads, shared by the host's stdio front-end and the
        // stdio transport plugin (linked statically into each).
        .target(name: "LineIO", dependencies: ["Locking"], path: "Sources/LineIO"),
        // A pthread-based lock that ThreadSanitizer understands (Synchronization.Mutex is a futex
        // it cannot see); used by the host and the bundled plugins.
        .target(name: "Locking", path: "Sources/Locking"),
        // SHA-256 for cache keys, shared by the host (catalog cache) and the CLI transport
        // (discovery cache); linked statically into each.
        .target(name: "HashSupport", path: "Sources/HashSupport"),
        .target(
            name: "Host",
            dependencies: [
                "PluginAPI",
                "LineIO",
                "Locking",
                "HashSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Host"
        ),
        .executableTarget(
            name: "mcp-host",
            dependencies: [
                "Host",
                "PluginValidator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/mcp-host"
        ),
        // `mcp-host validate-plugin`: the conformance suite a plugin library is run through.
        .target(name: "PluginValidator", dependencies: ["Host", "PluginAPI", "Locking",
                                                        .product(name: "Logging", package: "swift-log")],
                path: "Sources/PluginValidator"),
        // Process-tree guard between a transport and a backend (new process group, subreaper,
        // lifeline pipe). Plain C, no runtime, so it starts in a millisecond.
        .executableTarget(name: "Supervisor", path: "Sources/Supervisor"),

        .target(name: "PosixSupport", path: "Sources/Plugins/PosixSupport"),
        // Spawning under mcph-supervisor (lifeline, process group, tree kill), shared by the stdio
        // and CLI transports (linked statically into each).
        .target(name: "ProcessSupport", dependencies: ["PosixSupport"], path: "Sources/Plugins/ProcessSupport"),
        // The C face the Swift plugins share (descriptor and interface tables, init/deinit and
        // connection trampolines, host struct copies, error and mcph_buf writes), linked statically
        // into each; the version script keeps its symbols local.
        .target(name: "PluginKit", dependencies: ["PluginAPI"], path: "Sources/Plugins/PluginKit"),
        .target(name: "StdioTransport", dependencies: ["PluginAPI", "PluginKit", "PosixSupport", "ProcessSupport", "LineIO", "Locking"], path: "Sources/Plugins/StdioTransport",
                linkerSettings: pluginLinkerSettings),
        .target(name: "CLITransport", dependencies: ["PluginAPI", "PluginKit", "ProcessSupport", "CLIDiscovery", "Locking", "HashSupport"], path: "Sources/Plugins/CLITransport",
                linkerSettings: pluginLinkerSettings),
        .target(name: "NamespaceRouter", dependencies: ["PluginAPI", "PluginKit"], path: "Sources/Plugins/NamespaceRouter",
                linkerSettings: pluginLinkerSettings),
        // Pure help-text discovery for the CLI transport: help pages, tool definitions, argv building.
        .target(name: "CLIDiscovery", path: "Sources/Plugins/CLIDiscovery"),
        // The HTTP transport (Streamable HTTP and legacy HTTP+SSE clients) on AsyncHTTPClient, and
        // its pure logic (config, SSE parsing, proxy rules, error texts) apart, unit-tested.
        .target(name: "HTTPTransport", dependencies: ["PluginAPI", "PluginKit", "HTTPTransportCore", "Locking",
                                                      .product(name: "AsyncHTTPClient", package: "async-http-client")],
                path: "Sources/Plugins/HTTPTransport", linkerSettings: pluginLinkerSettings),
        .target(name: "HTTPTransportCore", path: "Sources/Plugins/HTTPTransportCore"),
        // The filter router (mcph.filter, Swift) and its pure rules (globs, precedence, settings) apart,
        // unit-tested; the alias router (mcph.alias) in plain C, hidden visibility.
        .target(name: "FilterRouter", dependencies: ["PluginAPI", "PluginKit", "FilterRouterCore", "Locking"], path: "Sources/Plugins/FilterRouter",
                linkerSettings: pluginLinkerSettings),
        .target(name: "FilterRouterCore", path: "Sources/Plugins/FilterRouterCore"),
        .target(name: "AliasRouter", dependencies: ["PluginAPI"], path: "Sources/Plugins/AliasRouter", publicHeadersPath: ".",
                cSettings: [.unsafeFlags(["-fvisibility=hidden"])], linkerSettings: pluginLinkerSettings),
        // The TCP transport (mcph.tcp): a third party's plugin as the docs describe it, plain C11 against
        // the header alone, in examples/ so that it reads as an example; built and tested like the others.
        .target(name: "TCPTransport", dependencies: ["PluginAPI"], path: "examples/tcp-transport", publicHeadersPath: ".",
                cSettings: [.unsafeFlags(["-fvisibility=hidden"])], linkerSettings: pluginLinkerSettings),

        // The example MCP server the README's first command serves, built on the official Swift SDK.
        .executableTarget(
            name: "ExampleServer",
            dependencies: [.product(name: "MCP", package: "swift-sdk")],
            path: "Sources/ExampleServer"
        ),

        // Throughput through mcp-host vs. the same backend directly (docs/benchmarks.md).
        .executableTarget(name: "Benchmarks", dependencies: ["BenchSupport", .product(name: "Hummingbird", package: "hummingbird")],
                          path: "Sources/Benchmarks"),
        // The benchmark's pure logic (statistics, /proc parsing, the loader's JSON, tables, markdown).
        .target(name: "BenchSupport", path: "Sources/BenchSupport"),
        .executableTarget(name: "BenchEchoServer", path: "Sources/BenchEchoServer"),
        // Load generator for Streamable HTTP (C, one thread, epoll), run by mcp-host-bench.
        .executableTarget(name: "BenchLoad", path: "Sources/BenchLoad",
                          cSettings: [.unsafeFlags(["-O2"], .when(configuration: .release))]),

        // Reads its fixtures from Tests/Fixtures/cli-help by source path.
        .testTarget(name: "CLIDiscoveryTests", dependencies: ["CLIDiscovery"], path: "Tests/CLIDiscoveryTests"),
        .testTarget(name: "HTTPTransportCoreTests", dependencies: ["HTTPTransportCore"], path: "Tests/HTTPTransportCoreTests"),
        .testTarget(name: "FilterRouterCoreTests", dependencies: ["FilterRouterCore"], path: "Tests/FilterRouterCoreTests"),
        .testTarget(name: "BenchSupportTests", dependencies: ["BenchSupport"], path: "Tests/BenchSupportTests"),
        .testTarget(name: "HostTests", dependencies: ["Host", "PluginAPI", "Locking", "LineIO"], path: "Tests/HostTests"),
        .testTarget(name: "IntegrationTests", dependencies: ["Locking"], path: "Tests/IntegrationTests",
                    exclude: ["python", "c", "cli"]),
    ],
    swiftLanguageModes: [.v6]
)
