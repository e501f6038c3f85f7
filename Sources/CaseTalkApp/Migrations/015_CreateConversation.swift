import Fluent
import SQLKit

/// Patient Talk (SPEC §1, §2, §4): one conversation per (case, member), and its messages, whose
/// bodies are sealed with the data key.
struct CreateConversation: AsyncMigration {
    var name: String { "015_CreateConversation" }

    func prepare(on db: any Database) async throws {
        try await db.schema("conversations")
            .id()
            .field("case_id", .uuid, .required, .references("cases", "id", onDelete: .cascade))
            .field("member_id", .uuid, .required, .references("staff_users", "id", onDelete: .cascade))
            .field("created_at", .datetime, .required)
            .field("last_message_at", .datetime, .required)
            .field("message_count", .int, .required)
            .field("member_unread", .int, .required)
            .field("patient_unread", .int, .required)
            .field("member_notified_at", .datetime)
            .field("patient_notified_at", .datetime)
            .unique(on: "case_id", "member_id")
            .create()
        try await db.sql.create(index: "conversations_member_idx").on("conversations").column("member_id").run()
        try await db.schema("messages")
            .id()
            .field("conversation_id", .uuid, .required, .references("conversations", "id", onDelete: .cascade))
            .field("author_kind", .string, .required)
            .field("key_id", .string, .required)
            .field("body_sealed", .string, .required)
            .field("created_at", .datetime, .required)
            .field("read_at", .datetime)
            .create()
        try await db.sql.create(index: "messages_conversation_idx").on("messages").column("conversation_id").column("created_at").run()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("messages").delete()
        try await db.schema("conversations").delete()
    }
}
