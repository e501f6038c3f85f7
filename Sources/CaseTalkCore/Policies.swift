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

/// The rules a new password must meet (SPEC §3). The common-password list arrives with patient
/// registration; the length and email rules apply to every account now.
public enum PasswordPolicy {
    public static let minLength = 12
    public static let maxLength = 128

    public static func check(_ password: String, email: EmailAddress) throws(ValidationError) {
        guard password.count >= minLength else { throw ValidationError("The password must be at least \(minLength) characters.") }
        guard password.count <= maxLength else { throw ValidationError("The password can be at most \(maxLength) characters.") }
        let name = email.localPart
        if name.count >= 3, password.lowercased().contains(name) {
            throw ValidationError("The password must not contain the name part of the email address.")
        }
    }
}
