import Fluent
import SQLKit

/// Attachments (SPEC §8): one row per stored file, naming its sealed bytes in the store. A row is
/// written once its file is stored; `message_id` is set when the message it goes with is sent
/// (until then only its uploader's own form refers to it, and the sweep removes it after a day).
struct CreateAttachment: AsyncMigration {
    var name: String { "028_CreateAttachment" }

    func prepare(on db: any Database) async throws {
        try await db.schema("attachments")
            .id()
            .field("conversation_id", .uuid, .required, .references("conversations", "id"))
            .field("message_id", .uuid, .references("messages", "id"))
            .field("author_kind", .string, .required)
            .field("store_key", .string, .required)
            .field("key_sealed", .string, .required)
            .field("name_sealed", .string, .required)
            .field("file_type", .string, .required)
            .field("stored_bytes", .int64, .required)
            .field("sha256", .string, .required)
            .field("width", .int)
            .field("height", .int)
            .field("taken_at", .string)
            .field("status", .string, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "store_key")
            .create()
        try await db.sql.create(index: "attachments_message_idx").on("attachments").column("message_id").run()
        try await db.sql.create(index: "attachments_conversation_idx").on("attachments").column("conversation_id").column("created_at").run()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("attachments").delete()
    }
}
