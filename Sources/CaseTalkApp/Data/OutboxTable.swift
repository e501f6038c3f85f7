import Fluent
import Foundation

/// The `outbox` table's many-row statements: finding due emails and taking a lease on one (see
/// `Outbox`; single rows are written through the `OutboxEmail` model).
enum OutboxTable {
    /// A row the worker holds the lease on.
    struct Claimed: Decodable, Sendable {
        let id: UUID
        let kind: String
        let relatedId: UUID?
        let sealedMessage: String
        let attempts: Int
    }

    /// Up to `limit` pending rows due by `now` and not leased, the longest-waiting first.
    static func due(now: Date, limit: Int, on db: any Database) async throws -> [UUID] {
        struct Row: Decodable { let id: UUID }
        return try await db.all(Due(now: now, limit: limit), as: Row.self).map(\.id)
    }

    /// Takes the lease on the row until `leaseUntil` and counts an attempt, only while it is
    /// pending and not leased: two workers never both hold a row. Nil when another took it.
    static func claim(id: UUID, now: Date, leaseUntil: Date, on db: any Database) async throws -> Claimed? {
        try await db.first(Claim(leaseUntil: leaseUntil, id: id, now: now), as: Claimed.self)
    }

    private static let pending = OutboxEmail.Status.pending.rawValue

    private struct Due: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            """
            SELECT id FROM outbox
            WHERE status = '\(pending)' AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until < $1)
            ORDER BY next_attempt_at LIMIT $2
            """
        }
        let now: Date, limit: Int
        var binds: [any SQLValue] { [now, limit] }
    }

    private struct Claim: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE outbox SET claimed_until = $1, attempts = attempts + 1
            WHERE id = $2 AND status = '\(pending)' AND (claimed_until IS NULL OR claimed_until < $3)
            RETURNING id, kind, related_id, sealed_message, attempts
            """
        }
        let leaseUntil: Date, id: UUID, now: Date
        var binds: [any SQLValue] { [leaseUntil, id, now] }
    }
}
