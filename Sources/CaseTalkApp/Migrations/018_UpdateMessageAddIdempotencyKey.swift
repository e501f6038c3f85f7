import Fluent
import SQLKit

/// Each send form carries a random key; a message is stored once per key in its conversation, so
/// a send retried after a lost answer (a crash, a dropped connection, a double click) is not
/// stored twice.
struct UpdateMessageAddIdempotencyKey: AsyncMigration {
    var name: String { "018_UpdateMessageAddIdempotencyKey" }

    func prepare(on db: any Database) async throws {
        try await db.schema("messages").field("idempotency_key", .string).update()
        try await db.sql.create(index: "messages_idempotency_idx").unique().on("messages")
            .column("conversation_id").column("idempotency_key").run()
    }

    func revert(on db: any Database) async throws {
        try await db.sql.drop(index: "messages_idempotency_idx").run()
        try await db.schema("messages").deleteField("idempotency_key").update()
    }
}
