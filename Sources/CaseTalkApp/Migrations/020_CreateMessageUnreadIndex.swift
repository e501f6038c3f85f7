import Fluent
import SQLKit

/// Opening a thread marks the other side's unread messages read. A partial index on exactly
/// those rows lets that update find them without reading the whole thread (a 1,000-message
/// thread has almost none unread).
struct CreateMessageUnreadIndex: AsyncMigration {
    var name: String { "020_CreateMessageUnreadIndex" }

    func prepare(on db: any Database) async throws {
        try await db.sql.raw("""
            CREATE INDEX messages_unread_idx ON messages (conversation_id, author_kind) WHERE read_at IS NULL
            """).run()
    }

    func revert(on db: any Database) async throws {
        try await db.sql.drop(index: "messages_unread_idx").run()
    }
}
