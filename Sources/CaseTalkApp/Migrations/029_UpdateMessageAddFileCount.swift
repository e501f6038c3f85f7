import Fluent
import SQLKit

/// How many files went with each message (SPEC §8), so that a thread page looks for files only
/// when one of its messages has some: most pages have none, and are read as often as any page.
struct UpdateMessageAddFileCount: AsyncMigration {
    var name: String { "029_UpdateMessageAddFileCount" }

    func prepare(on db: any Database) async throws {
        try await db.schema("messages").field("file_count", .int, .required, .sql(.default(0))).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("messages").deleteField("file_count").update()
    }
}
