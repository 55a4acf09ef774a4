import Testing
@testable import FilterRouterCore

@Suite struct FilterRulesTests {
    static let settings = #"""
    {"servers": {"git": {"allow": ["git__status", "git__log*"], "deny": ["*push*"]},
                 "*": {"deny": ["*delete*"]}},
     "subjects": {"alice": {"deny": ["git__*"]}, "bob": {"allow": ["time__*"]}},
     "roles": {"admin": {"allow": ["*"]}, "auditor": {"allow": ["git__log*"]}}}
    """#

    static func rules() throws -> FilterRules { try FilterRules.parse(Array(settings.utf8)) }

    @Test func serverAllowListShowsOnlyMatches() throws {
        let rules = try Self.rules()
        #expect(rules.shows(server: "git", name: "git__status"))
        #expect(rules.shows(server: "git", name: "git__log_all"))
        #expect(!rules.shows(server: "git", name: "git__diff"), "an allow list hides what it does not name")
    }

    @Test func denyWinsOverAllow() throws {
        let rules = try FilterRules.parse(Array(#"{"servers": {"git": {"allow": ["git__*"], "deny": ["*push*"]}}}"#.utf8))
        #expect(rules.shows(server: "git", name: "git__pull"))
        #expect(!rules.shows(server: "git", name: "git__push"))
    }

    @Test func everyServerRulesApplyToAll() throws {
        let rules = try Self.rules()
        #expect(rules.shows(server: "time", name: "time__now"), "no rules for time: all shown but the * denies")
        #expect(!rules.shows(server: "time", name: "time__delete_zone"))
        #expect(!rules.shows(server: "git", name: "git__log_delete"), "the * deny applies to git too")
    }

    @Test func routeRejectsHiddenNamesByTheirServerPrefix() throws {
        let rules = try Self.rules()
        #expect(rules.rejects("git__push"))
        #expect(rules.rejects("git__diff"), "not in git's allow list")
        #expect(!rules.rejects("git__status"))
        #expect(rules.rejects("other__delete_all"), "the * rules need no server")
        #expect(!rules.rejects("status"), "a name that names no configured server: only the * rules")
        #expect(rules.serverOwning("git__x") == "git")
        #expect(rules.serverOwning("gitx__x") == nil)
    }

    @Test func longestServerPrefixOwnsTheName() throws {
        let rules = try FilterRules.parse(Array(#"{"servers": {"a": {"deny": ["*"]}, "a__b": {"allow": ["*"]}}}"#.utf8))
        #expect(rules.serverOwning("a__b__tool") == "a__b")
        #expect(!rules.rejects("a__b__tool"))
        #expect(rules.rejects("a__tool"))
    }

    @Test func callerRulesBySubjectAndRole() throws {
        let rules = try Self.rules()
        #expect(!rules.allows("git__status", subject: "alice", roles: []))
        #expect(rules.allows("time__now", subject: "alice", roles: []))
        #expect(rules.allows("time__now", subject: "bob", roles: []))
        #expect(!rules.allows("git__status", subject: "bob", roles: []), "bob's allow list names only time tools")
        #expect(rules.allows("git__status", subject: "bob", roles: ["auditor"]) == false)
        #expect(rules.allows("git__log", subject: "bob", roles: ["auditor"]), "allow lists of subject and roles add up")
        #expect(!rules.allows("git__log", subject: "alice", roles: ["admin"]), "alice's deny wins over admin's allow")
        #expect(rules.allows("anything", subject: "carol", roles: []), "no rule applies: allowed")
        #expect(rules.allows("git__status", subject: "", roles: []), "no subject: no subject rules")
    }

    @Test func emptyAllowListAllowsNothing() throws {
        let rules = try FilterRules.parse(Array(#"{"roles": {"guest": {"allow": []}}}"#.utf8))
        #expect(!rules.allows("x", subject: "", roles: ["guest"]))
        #expect(rules.allows("x", subject: "", roles: ["other"]))
        #expect(rules.hasCallerRules)
        #expect(!(try FilterRules.parse(Array(#"{"servers": {}}"#.utf8))).hasCallerRules)
    }

    @Test func noSettingsMeansNoRules() throws {
        #expect(try FilterRules.parse([]) == .none)
        #expect(try FilterRules.parse(Array(" \n".utf8)) == .none)
        #expect(try FilterRules.parse(Array("{}".utf8)) == .none)
        #expect(FilterRules.none.shows(server: "x", name: "anything"))
    }

    @Test func badSettingsAreRefusedWithWhere() {
        func error(_ text: String) -> String {
            do {
                _ = try FilterRules.parse(Array(text.utf8))
                return "accepted"
            } catch {
                return error.description
            }
        }
        #expect(error("{").contains("not valid JSON"))
        #expect(error("[]").contains("must be an object"))
        #expect(error(#"{"server": {}}"#).contains(#"unknown setting "server""#))
        #expect(error(#"{"servers": {"git": {"allow": "git__*"}}}"#).contains(#""servers.git.allow" must be an array"#))
        #expect(error(#"{"servers": {"git": {"deny": [""]}}}"#).contains(#""servers.git.deny[0]""#))
        #expect(error(#"{"servers": {"git": {"denied": []}}}"#).contains(#"unknown key "servers.git.denied""#))
        #expect(error(#"{"subjects": {"alice": ["x"]}}"#).contains(#""subjects.alice" must be an object"#))
        #expect(error(#"{"roles": []}"#).contains(#""roles" must be an object"#))
    }
}
