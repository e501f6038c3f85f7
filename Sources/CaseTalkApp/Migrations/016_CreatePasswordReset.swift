import Fluent
import SQLKit

/// Forgot password? (SPEC §4): one row per emailed reset link, holding the state of the code sent
/// to the verified phone (the same code columns as a registration); the session column that
/// carries the link off the URL; and the per-number send log, which now serves registrations and
/// resets alike, so it no longer points at an invitation.
struct CreatePasswordReset: AsyncMigration {
    var name: String { "016_CreatePasswordReset" }

    func prepare(on db: any Database) async throws {
        try await db.schema("password_resets")
            .id()
            .field("patient_id", .uuid, .required, .references("patients", "id", onDelete: .cascade))
            .field("token_hash", .string, .required)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            // Set when the new password is saved, or when a newer link replaces this one.
            .field("closed_at", .datetime)
            .verificationCodeColumns()
            .unique(on: "token_hash")
            .create()
        try await db.sql.create(index: "password_resets_patient_idx").on("password_resets").column("patient_id").column("created_at").run()
        try await db.schema("sessions").field("password_reset_token_hash", .string).update()

        try await db.schema("phone_code_sends")
            .id()
            .field("number", .string, .required)
            .field("sent_at", .datetime, .required)
            .create()
        try await db.sql.raw("INSERT INTO phone_code_sends (id, number, sent_at) SELECT id, number, sent_at FROM code_sends").run()
        try await db.schema("code_sends").delete()
        try await db.sql.create(index: "phone_code_sends_number_idx").on("phone_code_sends").column("number").column("sent_at").run()
    }

    /// The send log goes back to the registration-only table empty: its rows only matter for
    /// 10 minutes, and a reset's sends have no invitation to point at.
    func revert(on db: any Database) async throws {
        try await db.schema("code_sends")
            .id()
            .field("invitation_id", .uuid, .required, .references("invitations", "id", onDelete: .cascade))
            .field("number", .string, .required)
            .field("sent_at", .datetime, .required)
            .create()
        try await db.sql.create(index: "code_sends_number_idx").on("code_sends").column("number").column("sent_at").run()
        try await db.schema("phone_code_sends").delete()
        try await db.schema("sessions").deleteField("password_reset_token_hash").update()
        try await db.schema("password_resets").delete()
    }
}
