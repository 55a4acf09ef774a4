import PluginAPI
import PluginKit

/// The HTTP transport plugin: `mcph.transport/1` named "http".
///
/// State shared by its connections: the host table (copied, at most its declared struct_size) and
/// the host's ABI minor (SESSION_RESET only goes to a 1.3 host or newer).
///
/// `@unchecked Sendable`: every stored property is immutable after `make`; the host table's
/// functions may be called from any thread (ABI).
final class HTTPPlugin: @unchecked Sendable {
    let host: mcph_host

    /// The host's MCPH_ABI_MINOR.
    var hostMinor: Int { Int(host.abi_minor) }

    private init(host: mcph_host) {
        self.host = host
    }

    static func make(host pointer: UnsafePointer<mcph_host>) throws(HostTableError) -> HTTPPlugin {
        HTTPPlugin(host: try copyHost(pointer))
    }
}
