import CaseTalkCore
import Fluent
import Foundation

package final class StaffUser: Model, @unchecked Sendable {
    package static let schema = "staff_users"

    @ID(key: .id) package var id: UUID?
    @Parent(key: "practice_id") package var practice: Practice
    /// Normalised (`EmailAddress.value`), unique across staff.
    @Field(key: "email") var email: String
    @Field(key: "name") var name: String
    @Enum(key: "role") var role: StaffRole
    @Field(key: "is_admin") var isAdmin: Bool
    @Field(key: "password_hash") var passwordHash: String
    @Field(key: "failed_logins") var failedLogins: Int
    @OptionalField(key: "locked_until") var lockedUntil: Date?
    @Field(key: "created_at") var createdAt: Date
    /// The TOTP key, sealed with the data key (`StaffTwoStep`); nil until two-step verification
    /// is set up, and again after a reactivation.
    @OptionalField(key: "totp_key") var totpKey: String?
    /// The last TOTP step accepted: that code and older ones are refused.
    @OptionalField(key: "totp_last_step") var totpLastStep: Int64?
    @OptionalField(key: "totp_enabled_at") var totpEnabledAt: Date?
    /// When a practice admin deactivated the account (SPEC §9); nil while active. Never deleted.
    @OptionalField(key: "deactivated_at") var deactivatedAt: Date?

    package init() {}
    package init(practiceID: UUID, email: EmailAddress, name: String, role: StaffRole, isAdmin: Bool,
         passwordHash: String, createdAt: Date) {
        self.$practice.id = practiceID
        self.email = email.value
        self.name = name
        self.role = role
        self.isAdmin = isAdmin
        self.passwordHash = passwordHash
        self.failedLogins = 0
        self.createdAt = createdAt
    }
}
