import Fluent

struct CreateOutbox: AsyncMigration {
    var name: String { "008_CreateOutbox" }

    func prepare(on db: any Database) async throws {
        try await db.schema("outbox")
            .id()
            .field("kind", .string, .required)
            .field("related_id", .uuid)
            .field("sealed_message", .string, .required)
            .field("status", .string, .required)
            .field("attempts", .int, .required)
            .field("next_attempt_at", .datetime, .required)
            .field("claimed_until", .datetime)
            .field("last_error", .string)
            .field("created_at", .datetime, .required)
            .field("sent_at", .datetime)
            .create()
        // The worker looks for due, pending rows; staff pages look up an invitation's latest email.
        try await db.sql.create(index: "outbox_due_idx").on("outbox").column("status").column("next_attempt_at").run()
        try await db.sql.create(index: "outbox_related_idx").on("outbox").column("related_id").run()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("outbox").delete()
    }
}

struct CreateDevMailbox: AsyncMigration {
    var name: String { "009_CreateDevMailbox" }

    func prepare(on db: any Database) async throws {
        try await db.schema("dev_mailbox")
            .id()
            .field("kind", .string, .required)
            .field("recipient", .string, .required)
            .field("subject", .string, .required)
            .field("text_body", .string, .required)
            .field("html_body", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("dev_mailbox").delete()
    }
}
