import Foundation

/// How often one account, or one client address, may do each thing that an attacker would
/// repeat (issue: brute force and flooding). Counted in fixed windows: every hit in the current
/// window counts, and the next window starts again from zero.
public struct RateLimitPolicy: Sendable, Equatable {
    public enum Action: String, CaseIterable, Sendable {
        case signIn = "signin"
        case codeSend = "code-send"
        case codeCheck = "code-check"
        /// Inviting, re-inviting (resend, correct) and revoking.
        case invitation
        case passwordReset = "password-reset"
        case messageSend = "message"
    }

    /// Who is counted: the account (or registration, or reset) the request is about, or the
    /// address it comes from.
    public enum Scope: String, CaseIterable, Sendable { case account, address }

    public struct Rule: Sendable, Equatable {
        public let limit: Int
        public let window: TimeInterval
        public init(limit: Int, window: TimeInterval) { self.limit = limit; self.window = window }
    }

    private var rules: [String: Rule]

    public init(_ rules: [(Action, Scope, Rule)]) {
        self.rules = Dictionary(rules.map { ("\($0.0.rawValue).\($0.1.rawValue)", $0.2) }, uniquingKeysWith: { $1 })
    }

    public func rule(_ action: Action, _ scope: Scope) -> Rule? { rules["\(action.rawValue).\(scope.rawValue)"] }

    public var isOff: Bool { rules.isEmpty }

    /// The limits CaseTalk runs with. Per address they are generous, because a practice's staff
    /// share one address behind its router; per account they are what a person never reaches.
    public static let standard = RateLimitPolicy([
        (.signIn, .account, Rule(limit: 20, window: 600)),
        (.signIn, .address, Rule(limit: 100, window: 600)),
        (.codeSend, .account, Rule(limit: 10, window: 3600)),
        (.codeSend, .address, Rule(limit: 30, window: 3600)),
        (.codeCheck, .account, Rule(limit: 30, window: 600)),
        (.codeCheck, .address, Rule(limit: 100, window: 600)),
        (.invitation, .account, Rule(limit: 30, window: 3600)),
        (.invitation, .address, Rule(limit: 100, window: 3600)),
        (.passwordReset, .account, Rule(limit: 5, window: 3600)),
        (.passwordReset, .address, Rule(limit: 20, window: 3600)),
        (.messageSend, .account, Rule(limit: 60, window: 60)),
        (.messageSend, .address, Rule(limit: 300, window: 60)),
    ])

    /// No limits: for load tests only (`CASETALK_RATE_LIMITS=off`).
    public static let off = RateLimitPolicy([])

    /// The window `now` falls in (its number since 1970) and when it ends.
    public static func window(at now: Date, length: TimeInterval) -> (index: Int64, end: Date) {
        let index = Int64((now.timeIntervalSince1970 / length).rounded(.down))
        return (index, Date(timeIntervalSince1970: Double(index + 1) * length))
    }
}
