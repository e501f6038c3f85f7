import Fluent
import Foundation

/// One emailed password reset link (SPEC §4), and the state of the code sent to the account's
/// verified phone (the same code columns as a registration, so `VerificationCodes` serves both).
final class PasswordReset: Model, @unchecked Sendable {
    static let schema = "password_resets"

    @ID(key: .id) var id: UUID?
    @Parent(key: "patient_id") var patient: Patient
    /// SHA-256 of the link's token; the token itself is only in the email.
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "expires_at") var expiresAt: Date
    /// Set when the new password is saved, or when a newer link replaces this one.
    @OptionalField(key: "closed_at") var closedAt: Date?
    @OptionalField(key: "code_hmac") var codeHMAC: String?
    @OptionalField(key: "code_number") var codeNumber: String?
    @OptionalField(key: "code_channel") var codeChannel: String?
    @OptionalField(key: "code_expires_at") var codeExpiresAt: Date?
    @Field(key: "code_tries") var codeTries: Int
    /// Wrong codes in a row; a newer link starts from the count of the one it replaces.
    @Field(key: "wrong_streak") var wrongStreak: Int
    @OptionalField(key: "locked_until") var lockedUntil: Date?
    @Field(key: "lock_count") var lockCount: Int
    @OptionalField(key: "last_sent_at") var lastSentAt: Date?
    @OptionalField(key: "verified_at") var verifiedAt: Date?
    /// The session (its row id) that verified the code: only it may set the new password.
    @OptionalField(key: "verified_session") var verifiedSession: String?

    init() {}
}
