import Fluent
import Foundation

/// The `rate_limits` table: one counter per bucket and window (see `RateLimits`).
enum RateLimitsTable {
    /// A hit to count: the bucket, its current window and when that window ends.
    struct Hit: Sendable { let bucket: String; let window: Int64; let expiresAt: Date }
    struct Counted: Decodable, Sendable { let bucket: String; let hits: Int; let expiresAt: Date }

    /// Counts one hit in each bucket, in one statement: a new window starts at 1, the same window adds 1.
    static func count(_ hits: [Hit], on db: any Database) async throws -> [Counted] {
        guard !hits.isEmpty else { return [] }
        return try await db.all(Count(hits: hits), as: Counted.self)
    }

    static func deleteExpired(before now: Date, on db: any Database) async throws {
        try await db.run(DeleteExpired(now: now))
    }

    private struct Count: Statement {
        static let writes = true
        static func text(size: Int) -> String {
            let rows = (0..<size).map { "($\(1 + 3 * $0), $\(2 + 3 * $0), 1, $\(3 + 3 * $0))" }.joined(separator: ", ")
            return """
                INSERT INTO rate_limits (bucket, window_index, hits, expires_at) VALUES \(rows)
                ON CONFLICT (bucket) DO UPDATE SET
                hits = CASE WHEN rate_limits.window_index = excluded.window_index THEN rate_limits.hits + 1 ELSE 1 END,
                window_index = excluded.window_index, expires_at = excluded.expires_at
                RETURNING bucket, hits, expires_at
                """
        }
        let hits: [Hit]
        var size: Int { hits.count }
        var binds: [any SQLValue] { hits.flatMap { [$0.bucket, $0.window, $0.expiresAt] as [any SQLValue] } }
    }

    private struct DeleteExpired: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "DELETE FROM rate_limits WHERE expires_at < $1" }
        let now: Date
        var binds: [any SQLValue] { [now] }
    }
}
