import Fluent
import Foundation

/// The `practices` table's statements (rows: `Practice`).
enum PracticesTable {
    /// Takes the practice's row lock for the rest of the transaction (a no-op write): changes to
    /// who is an active admin of a practice then run one after another on PostgreSQL, so that the
    /// last-admin rule's own condition sees the change before it (SQLite writes one at a time
    /// anyway). False when there is no such practice.
    static func lock(_ practiceID: UUID, on db: any Database) async throws -> Bool {
        try await !db.rows(Lock(id: practiceID)).isEmpty
    }

    /// **Practice settings**: the practice's name and time zone.
    static func updateSettings(_ practiceID: UUID, name: String, timeZone: String, on db: any Database) async throws {
        try await db.run(UpdateSettings(name: name, timeZone: timeZone, id: practiceID))
    }

    private struct UpdateSettings: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "UPDATE practices SET name = $1, time_zone = $2 WHERE id = $3" }
        let name: String, timeZone: String, id: UUID
        var binds: [any SQLValue] { [name, timeZone, id] }
    }

    private struct Lock: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "UPDATE practices SET name = name WHERE id = $1 RETURNING id" }
        let id: UUID
        var binds: [any SQLValue] { [id] }
    }
}
