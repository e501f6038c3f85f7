import Fluent
import SQLKit

/// Outbox kinds became a type (`OutboxKind`) and one spelling: the one kind written with an
/// underscore is renamed in rows queued before.
struct UpdateOutboxKinds: AsyncMigration {
    var name: String { "027_UpdateOutboxKinds" }

    func prepare(on db: any Database) async throws {
        try await db.sql.raw("UPDATE outbox SET kind = 'member-added' WHERE kind = 'member_added'").run()
    }

    func revert(on db: any Database) async throws {
        try await db.sql.raw("UPDATE outbox SET kind = 'member_added' WHERE kind = 'member-added'").run()
    }
}
