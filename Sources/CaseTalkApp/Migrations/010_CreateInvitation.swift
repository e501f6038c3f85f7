import Fluent

struct CreateInvitation: AsyncMigration {
    var name: String { "010_CreateInvitation" }

    func prepare(on db: any Database) async throws {
        try await db.schema("invitations")
            .id()
            .field("case_id", .uuid, .required, .references("cases", "id", onDelete: .cascade))
            .field("email", .string, .required)
            .field("invited_by_id", .uuid, .required, .references("staff_users", "id"))
            .field("status", .string, .required)
            .field("sent_at", .datetime, .required)
            .field("opened_at", .datetime)
            .field("code_verified_at", .datetime)
            .field("registered_at", .datetime)
            .field("revoked_at", .datetime)
            .field("expires_at", .datetime, .required)
            .field("reminders_sent", .int, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "case_id")  // one invitation per case
            .create()
        try await db.schema("invitation_tokens")
            .field("token_hash", .string, .identifier(auto: false))
            .field("invitation_id", .uuid, .required, .references("invitations", "id", onDelete: .cascade))
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .create()
        try await db.sql.create(index: "invitation_tokens_invitation_idx").on("invitation_tokens").column("invitation_id").run()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("invitation_tokens").delete()
        try await db.schema("invitations").delete()
    }
}

/// The registration session remembers which invitation link brought the visitor (SPEC §3: the
/// token leaves the URL at once).
struct UpdateSessionAddRegistration: AsyncMigration {
    var name: String { "011_UpdateSessionAddRegistration" }

    func prepare(on db: any Database) async throws {
        try await db.schema("sessions").field("registration_token_hash", .string).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("sessions").deleteField("registration_token_hash").update()
    }
}
