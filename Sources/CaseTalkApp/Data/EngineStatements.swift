import Fluent
import Foundation

/// Statements about the database itself rather than a table of CaseTalk's.
package enum EngineStatements {
    /// How many migrations Fluent has recorded as applied.
    static func appliedMigrations(on db: any Database) async throws -> Int {
        struct Row: Decodable { let applied: Int }
        return try await db.first(AppliedMigrations(), as: Row.self)?.applied ?? 0
    }

    /// SQLite: write-ahead logging, so readers do not wait for a writer (kept in the file).
    static func useWriteAheadLog(on db: any Database) async throws {
        try await db.run(WriteAheadLog())
    }

    /// Fresh planner statistics, after a bulk load.
    package static func refreshStatistics(on db: any Database) async throws {
        try await db.run(Analyze())
    }

    private struct AppliedMigrations: Statement {
        static let writes = false
        static func text(size _: Int) -> String { "SELECT COUNT(*) AS applied FROM _fluent_migrations" }
        var binds: [any SQLValue] { [] }
    }

    private struct WriteAheadLog: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "PRAGMA journal_mode=WAL" }
        var binds: [any SQLValue] { [] }
    }

    private struct Analyze: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "ANALYZE" }
        var binds: [any SQLValue] { [] }
    }
}
