import Testing
@testable import HTTPTransportCore

@Suite struct NoProxyTests {
    @Test(arguments: [
        ("*", "anything.example", 443, true),
        ("example.com", "example.com", 443, true),
        ("example.com", "api.example.com", 443, true),
        (".example.com", "api.example.com", 443, true),
        (".example.com", "example.com", 443, true),
        ("*.example.com", "api.example.com", 443, true),
        ("example.com", "badexample.com", 443, false),
        ("example.com", "example.com.evil.net", 443, false),
        ("EXAMPLE.com", "Api.Example.COM", 80, true),
        ("example.com.", "example.com", 80, true),
        ("example.com:8443", "example.com", 8443, true),
        ("example.com:8443", "example.com", 443, false),
        ("localhost, 127.0.0.1", "127.0.0.1", 80, true),
        ("localhost,127.0.0.1", "localhost", 80, true),
        ("127.0.0.1", "127.0.0.2", 80, false),
        ("0.0.1", "10.0.0.1", 80, false), // no suffix matching of IP literals
        ("10.0.0.0/8", "10.1.2.3", 80, true),
        ("10.0.0.0/8", "11.1.2.3", 80, false),
        ("192.168.1.0/24", "192.168.1.77", 80, true),
        ("::1", "::1", 80, true),
        ("[::1]", "::1", 80, true),
        ("[::1]:8080", "[::1]", 8080, true),
        ("[::1]:8080", "::1", 80, false),
        ("", "example.com", 80, false),
        (" , ,", "example.com", 80, false),
    ])
    func matching(list: String, host: String, port: Int, expected: Bool) {
        #expect(NoProxy(list).matches(host: host, port: port) == expected, "NO_PROXY=\(list) host=\(host):\(port)")
    }
}

@Suite struct ProxySettingsTests {
    let https = try! RemoteURL("https://api.example.com/mcp")
    let http = try! RemoteURL("http://api.example.com/mcp")

    @Test func schemeSelectsTheVariableAndLowercaseWins() throws {
        let env = ["HTTPS_PROXY": "http://upper:3128", "https_proxy": "http://lower:3129", "HTTP_PROXY": "http://plain:8080"]
        #expect(try ProxySettings.forURL(https, environment: env) == ProxySettings(host: "lower", port: 3129, username: nil, password: nil))
        #expect(try ProxySettings.forURL(http, environment: env) == ProxySettings(host: "plain", port: 8080, username: nil, password: nil))
        #expect(try ProxySettings.forURL(http, environment: ["HTTPS_PROXY": "http://p:1"]) == nil)
        #expect(try ProxySettings.forURL(https, environment: ["HTTPS_PROXY": "  "]) == nil)
    }

    @Test func noProxyBypasses() throws {
        let env = ["HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "example.com"]
        #expect(try ProxySettings.forURL(https, environment: env) == nil)
        let lower = ["https_proxy": "http://proxy:3128", "no_proxy": "other.org"]
        #expect(try ProxySettings.forURL(https, environment: lower) != nil)
    }

    @Test func credentialsPortsAndBareHostPort() throws {
        let withAuth = try ProxySettings.parse("http://us%40er:p%3Ass@proxy.local:8080", variable: "HTTPS_PROXY")
        #expect(withAuth.host == "proxy.local")
        #expect(withAuth.port == 8080)
        #expect(withAuth.username == "us@er")
        #expect(withAuth.password == "p:ss")
        #expect(withAuth.redacted == "http://proxy.local:8080")
        #expect(try ProxySettings.parse("http://proxy", variable: "V").port == 80)
        #expect(try ProxySettings.parse("proxy:3128", variable: "V") == ProxySettings(host: "proxy", port: 3128, username: nil, password: nil))
        #expect(try ProxySettings.parse("proxy", variable: "V").port == 1080)
    }

    @Test func invalidProxyNamesTheVariableNeverTheValue() {
        for value in ["https://user:s3cret@proxy:443", "socks5://user:s3cret@proxy:1080", "http://user:s3cret@:80"] {
            do {
                _ = try ProxySettings.parse(value, variable: "HTTPS_PROXY")
                Issue.record("\(value) should be refused")
            } catch {
                #expect(error.description.hasPrefix("$HTTPS_PROXY "))
                #expect(!error.description.contains("s3cret"))
            }
        }
    }
}
