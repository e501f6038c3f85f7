import Fluent
import Foundation

/// A server-side session (SPEC §5). The row is keyed by the SHA-256 of the cookie value, so a copy
/// of the database does not hand out live sessions.
final class SessionRecord: Model, @unchecked Sendable {
    static let schema = "sessions"

    @ID(custom: "id", generatedBy: .user) var id: String?
    /// `staff` or `patient`; nil for a visitor who has not signed in yet (they still need a CSRF token).
    @OptionalField(key: "principal_kind") var principalKind: String?
    @OptionalField(key: "principal_id") var principalID: UUID?
    @Field(key: "csrf_token") var csrfToken: String
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "last_seen_at") var lastSeenAt: Date
    /// The SHA-256 of the invitation link that started a registration in this session.
    @OptionalField(key: "registration_token_hash") var registrationTokenHash: String?
    /// The address to fill in on the sign-in page (after registering, or to accept an invitation
    /// into an existing account), so it never has to travel in a URL.
    @OptionalField(key: "sign_in_email") var signInEmail: String?
    /// The SHA-256 of the password reset link opened in this session.
    @OptionalField(key: "password_reset_token_hash") var passwordResetTokenHash: String?
    /// A sign-in that still owes its second step (`PendingSignIn`).
    @OptionalField(key: "pending_kind") var pendingKind: String?
    @OptionalField(key: "pending_id") var pendingID: UUID?
    @OptionalField(key: "pending_factor") var pendingFactor: String?
    @OptionalField(key: "pending_key") var pendingKey: String?
    @OptionalField(key: "pending_at") var pendingAt: Date?

    init() {}
    init(idHash: String, principal: Principal?, csrfToken: String, now: Date) {
        self.id = idHash
        self.principalKind = principal?.kind
        self.principalID = principal?.id
        self.csrfToken = csrfToken
        self.createdAt = now
        self.lastSeenAt = now
    }
}

/// Who a session belongs to.
enum Principal: Equatable, Sendable {
    case staff(UUID)
    case patient(UUID)

    var kind: String {
        switch self { case .staff: "staff"; case .patient: "patient" }
    }

    var id: UUID {
        switch self { case .staff(let id), .patient(let id): id }
    }

    init?(kind: String?, id: UUID?) {
        guard let kind, let id else { return nil }
        switch kind {
        case "staff": self = .staff(id)
        case "patient": self = .patient(id)
        default: return nil
        }
    }
}
