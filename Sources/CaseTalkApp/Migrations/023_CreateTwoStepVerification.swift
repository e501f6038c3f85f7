import Fluent
import SQLKit

/// Two factors for everyone (SPEC §5, §9; issue 15):
/// - staff accounts hold their TOTP key (sealed with the data key), the last step used (so a code
///   is never taken twice) and when two-step verification was turned on; ten recovery codes each,
///   stored as hashes;
/// - a session may hold a sign-in halfway: the account whose password was right and the second
///   step it still owes (with the key being set up, sealed), before it names anyone;
/// - a patient's sign-in code lives in a row per patient with the same code columns as a
///   registration, so its limits carry over from one sign-in to the next;
/// - remembered browsers: the hash of a device cookie, the patient it belongs to, and its end.
struct CreateTwoStepVerification: AsyncMigration {
    var name: String { "023_CreateTwoStepVerification" }

    static let staffColumns: [(FieldKey, DatabaseSchema.DataType)] = [
        ("totp_key", .string), ("totp_last_step", .int64), ("totp_enabled_at", .datetime),
    ]
    static let sessionColumns: [(FieldKey, DatabaseSchema.DataType)] = [
        ("pending_kind", .string), ("pending_id", .uuid), ("pending_factor", .string), ("pending_key", .string),
        ("pending_at", .datetime),
    ]

    func prepare(on db: any Database) async throws {
        // SQLite alters one column per statement.
        for (column, type) in Self.staffColumns { try await db.schema("staff_users").field(column, type).update() }
        for (column, type) in Self.sessionColumns { try await db.schema("sessions").field(column, type).update() }
        try await db.schema("recovery_codes")
            .id()
            .field("staff_id", .uuid, .required, .references("staff_users", "id", onDelete: .cascade))
            .field("code_hash", .string, .required)
            .field("created_at", .datetime, .required)
            .field("used_at", .datetime)
            .unique(on: "staff_id", "code_hash")
            .create()
        try await db.schema("sign_in_codes")
            .field("patient_id", .uuid, .identifier(auto: false), .references("patients", "id", onDelete: .cascade))
            .verificationCodeColumns()
            .field("verified_session", .string)
            .create()
        try await db.schema("remembered_browsers")
            .field("token_hash", .string, .identifier(auto: false))
            .field("patient_id", .uuid, .required, .references("patients", "id", onDelete: .cascade))
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .create()
        try await db.sql.create(index: "remembered_browsers_patient_idx").on("remembered_browsers").column("patient_id").run()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("remembered_browsers").delete()
        try await db.schema("sign_in_codes").delete()
        try await db.schema("recovery_codes").delete()
        for (column, _) in Self.sessionColumns.reversed() { try await db.schema("sessions").deleteField(column).update() }
        for (column, _) in Self.staffColumns.reversed() { try await db.schema("staff_users").deleteField(column).update() }
    }
}
