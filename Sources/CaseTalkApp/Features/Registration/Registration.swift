import Fluent
import Foundation

/// A patient's registration in progress, one per invitation (SPEC §3): the phone numbers, the
/// state of the verification code, and the Terms of Use acceptance. Kept after the account is
/// made, as the record of what was accepted, when and from where.
final class Registration: Model, @unchecked Sendable {
    static let schema = "registrations"

    @ID(custom: "invitation_id", generatedBy: .user) var id: UUID?
    /// The live code, as `CodeHasher` makes it; nil when there is none (used, dead, locked).
    @OptionalField(key: "code_hmac") var codeHMAC: String?
    /// E.164 number and channel the live code went to.
    @OptionalField(key: "code_number") var codeNumber: String?
    @OptionalField(key: "code_channel") var codeChannel: String?
    @OptionalField(key: "code_expires_at") var codeExpiresAt: Date?
    /// Wrong tries on the live code.
    @Field(key: "code_tries") var codeTries: Int
    /// Wrong codes in a row, across resends and changes of method.
    @Field(key: "wrong_streak") var wrongStreak: Int
    @OptionalField(key: "locked_until") var lockedUntil: Date?
    @Field(key: "lock_count") var lockCount: Int
    @OptionalField(key: "last_sent_at") var lastSentAt: Date?
    @OptionalField(key: "verified_at") var verifiedAt: Date?
    /// The session (its row id) that verified the code: the later steps are only its own.
    @OptionalField(key: "verified_session") var verifiedSession: String?
    /// The session that typed the phone numbers: only it may change them before verification;
    /// any other browser sends its code to these numbers.
    @OptionalField(key: "phones_session") var phonesSession: String?
    /// The session that answered the case's date of birth, and the wrong answers so far.
    @OptionalField(key: "birth_date_session") var birthDateSession: String?
    @OptionalField(key: "birth_date_misses") var birthDateMisses: Int?
    @Field(key: "created_at") var createdAt: Date
    /// E.164 numbers from the Phone numbers step.
    @OptionalField(key: "mobile_number") var mobileNumber: String?
    @OptionalField(key: "home_number") var homeNumber: String?
    @OptionalField(key: "work_number") var workNumber: String?
    @OptionalField(key: "phones_saved_at") var phonesSavedAt: Date?
    @OptionalField(key: "terms_version") var termsVersion: String?
    @OptionalField(key: "terms_accepted_at") var termsAcceptedAt: Date?
    @OptionalField(key: "terms_client_address") var termsClientAddress: String?
    @OptionalField(key: "terms_user_agent") var termsUserAgent: String?

    init() {}
    init(invitationID: UUID, now: Date) {
        self.id = invitationID
        self.codeTries = 0
        self.wrongStreak = 0
        self.lockCount = 0
        self.createdAt = now
    }
}
