import Foundation

/// SPEC §5: 5 consecutive sign-in failures lock the account for 15 minutes.
public enum SignInLockout {
    public static let maxConsecutiveFailures = 5
    public static let lockDuration: TimeInterval = 15 * 60
}

/// SPEC §5: sessions end after 15 minutes idle and 12 hours in total.
public enum SessionLifetime {
    public static let idleTimeout: TimeInterval = 15 * 60
    public static let absoluteTimeout: TimeInterval = 12 * 60 * 60
    /// `last_seen_at` is written at most this often, so reads do not each cost a write.
    public static let touchInterval: TimeInterval = 15

    public static func isExpired(createdAt: Date, lastSeenAt: Date, now: Date) -> Bool {
        now.timeIntervalSince(lastSeenAt) >= idleTimeout || now.timeIntervalSince(createdAt) >= absoluteTimeout
    }
}

/// Staff role on a practice (SPEC §1).
public enum StaffRole: String, CaseIterable, Codable, Sendable {
    case doctor, staff
    public var label: String { self == .doctor ? "Doctor" : "Staff" }
}

/// The rules a new password must meet (SPEC §3), as a checklist: the same rules the page shows
/// turning green while typing. The server is the only authority. No composition rules, no expiry.
public enum PasswordPolicy {
    public static let minLength = 12
    public static let maxLength = 128

    public enum Rule: String, CaseIterable, Sendable {
        case length, notCommon, noEmailName, matches

        public var label: String {
            switch self {
            case .length: "At least \(PasswordPolicy.minLength) characters (at most \(PasswordPolicy.maxLength))"
            case .notCommon: "Not a commonly used password"
            case .noEmailName: "Does not contain the name part of your email address"
            case .matches: "Both entries match"
            }
        }

        public var message: String {
            switch self {
            case .length: "The password must be \(PasswordPolicy.minLength) to \(PasswordPolicy.maxLength) characters long."
            case .notCommon: "That password is too common. Choose one that is harder to guess."
            case .noEmailName: "The password must not contain the name part of your email address."
            case .matches: "The two passwords do not match."
            }
        }
    }

    /// The rules `password` breaks, in checklist order. `confirmation` nil skips the match rule.
    public static func unmet(_ password: String, confirmation: String?, email: EmailAddress,
                             common: CommonPasswords) -> [Rule] {
        var broken: [Rule] = []
        if !(minLength...maxLength).contains(password.count) { broken.append(.length) }
        if common.contains(password) { broken.append(.notCommon) }
        let name = email.localPart
        if name.count >= 3, password.lowercased().contains(name) { broken.append(.noEmailName) }
        if let confirmation, confirmation != password { broken.append(.matches) }
        return broken
    }

    /// Throws the first broken rule's message.
    public static func check(_ password: String, email: EmailAddress, common: CommonPasswords = .none) throws(ValidationError) {
        if let rule = unmet(password, confirmation: nil, email: email, common: common).first {
            throw ValidationError(rule.message)
        }
    }
}

/// The shipped list of common passwords (`Public/data/common-passwords.txt`, one a line),
/// compared case-insensitively.
public struct CommonPasswords: Sendable {
    private let words: Set<String>
    public var count: Int { words.count }

    public init(list: String) {
        words = Set(list.split(whereSeparator: \.isNewline).map { $0.lowercased() })
    }

    public static let none = CommonPasswords(list: "")

    public func contains(_ password: String) -> Bool { words.contains(password.lowercased()) }
}
