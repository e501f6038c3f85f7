import Fluent
import Foundation

/// The email invitation for a case's patient (SPEC §3). One per case: resending, correcting and
/// re-inviting after a revoke all update this row and replace its link.
final class Invitation: Model, @unchecked Sendable {
    static let schema = "invitations"

    enum Status: String, Codable, Sendable { case sent, opened, codeVerified = "code_verified", registered, revoked }

    @ID(key: .id) var id: UUID?
    @Parent(key: "case_id") var patientCase: PatientCase
    /// Normalised address the invitation went to.
    @Field(key: "email") var email: String
    @Parent(key: "invited_by_id") var invitedBy: StaffUser
    @Enum(key: "status") var status: Status
    @Field(key: "sent_at") var sentAt: Date
    @OptionalField(key: "opened_at") var openedAt: Date?
    @OptionalField(key: "code_verified_at") var codeVerifiedAt: Date?
    @OptionalField(key: "registered_at") var registeredAt: Date?
    @OptionalField(key: "revoked_at") var revokedAt: Date?
    @Field(key: "expires_at") var expiresAt: Date
    @Field(key: "reminders_sent") var remindersSent: Int
    @Field(key: "created_at") var createdAt: Date

    init() {}

    /// The state shown to staff: `expired` is derived from the expiry date.
    enum State: String, Sendable { case sent, opened, codeVerified, registered, expired, revoked }

    func state(at now: Date) -> State {
        switch status {
        case .registered: return .registered
        case .revoked: return .revoked
        default: break
        }
        if now >= expiresAt { return .expired }
        switch status {
        case .opened: return .opened
        case .codeVerified: return .codeVerified
        default: return .sent
        }
    }
}

/// A live invitation link, stored only as the SHA-256 of its 256-bit token. An invitation has
/// one after sending and one more per reminder; resending, correcting or revoking deletes them all.
final class InvitationToken: Model, @unchecked Sendable {
    static let schema = "invitation_tokens"

    @ID(custom: "token_hash", generatedBy: .user) var id: String?
    @Parent(key: "invitation_id") var invitation: Invitation
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "expires_at") var expiresAt: Date

    init() {}
    init(tokenHash: String, invitationID: UUID, createdAt: Date, expiresAt: Date) {
        self.id = tokenHash
        self.$invitation.id = invitationID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}
