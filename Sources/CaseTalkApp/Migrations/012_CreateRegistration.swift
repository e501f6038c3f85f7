import Fluent

struct CreateRegistration: AsyncMigration {
    var name: String { "012_CreateRegistration" }

    func prepare(on db: any Database) async throws {
        try await db.schema("registrations")
            .field("invitation_id", .uuid, .identifier(auto: false), .references("invitations", "id", onDelete: .cascade))
            .verificationCodeColumns()
            .field("created_at", .datetime, .required)
            .create()
        try await db.schema("code_sends")
            .id()
            .field("invitation_id", .uuid, .required, .references("invitations", "id", onDelete: .cascade))
            .field("number", .string, .required)
            .field("sent_at", .datetime, .required)
            .create()
        try await db.sql.create(index: "code_sends_number_idx").on("code_sends").column("number").column("sent_at").run()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("code_sends").delete()
        try await db.schema("registrations").delete()
    }
}

extension SchemaBuilder {
    /// The state of a secret code sent to a phone, as `VerificationCodes` reads and writes it: the
    /// same columns in every table that holds one (registrations, password resets).
    func verificationCodeColumns() -> SchemaBuilder {
        field("code_hmac", .string)
            .field("code_number", .string)
            .field("code_channel", .string)
            .field("code_expires_at", .datetime)
            .field("code_tries", .int, .required)
            .field("wrong_streak", .int, .required)
            .field("locked_until", .datetime)
            .field("lock_count", .int, .required)
            .field("last_sent_at", .datetime)
            .field("verified_at", .datetime)
    }
}
