import Fluent
import Foundation

/// The `outbox` table's statements: queuing emails, finding due ones, taking the lease on them
/// and recording how their delivery went (see `Outbox`; rows: `OutboxEmail`).
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

    /// Takes the lease on these rows until `leaseUntil` and counts an attempt, only on those still
    /// pending and not leased: two workers never both hold a row. The rows taken.
    static func claim(_ ids: [UUID], now: Date, leaseUntil: Date, on db: any Database) async throws -> [Claimed] {
        guard !ids.isEmpty else { return [] }
        return try await db.all(Claim(leaseUntil: leaseUntil, now: now, ids: Bucket.padded(ids)), as: Claimed.self)
    }

    /// An email to store, sealed, due at once.
    struct New: Sendable {
        let id: UUID
        let kind: OutboxKind
        let relatedID: UUID?
        let sealedMessage: String
        let at: Date
    }

    static func insert(_ rows: [New], on db: any Database) async throws {
        for chunk in Bucket.chunks(rows) { try await db.run(Insert(rows: Array(chunk))) }
    }

    /// How a delivery round ends for rows that will not be tried again.
    enum Finished: String, Sendable {
        /// Delivered.
        case sent
        /// A notification no longer needed (its message was read first): not sent.
        case skipped
    }

    /// These rows are done: their content goes, their lease ends.
    static func finish(_ ids: [UUID], as outcome: Finished, at now: Date, on db: any Database) async throws {
        guard !ids.isEmpty else { return }
        try await db.run(Finish(status: outcome.rawValue, sentAt: outcome == .sent ? now : nil, ids: Bucket.padded(ids)))
    }

    /// The row waits for another try at `next`; `reason` in words safe for staff to read.
    static func retry(_ id: UUID, at next: Date, reason: String, on db: any Database) async throws {
        try await db.run(Retry(next: next, reason: reason, id: id))
    }

    /// The provider refused the row for good: its content goes.
    static func fail(_ id: UUID, reason: String, on db: any Database) async throws {
        try await db.run(Fail(reason: reason, id: id))
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
        static func text(size: Int) -> String {
            """
            UPDATE outbox SET claimed_until = $1, attempts = attempts + 1
            WHERE status = '\(pending)' AND (claimed_until IS NULL OR claimed_until < $2) AND id IN (\(Bucket.list(from: 3, count: size)))
            RETURNING id, kind, related_id, sealed_message, attempts
            """
        }
        let leaseUntil: Date, now: Date, ids: [UUID]
        var size: Int { ids.count }
        var binds: [any SQLValue] { [leaseUntil, now] + ids }
    }

    private struct Insert: Statement {
        static let writes = true
        static func text(size: Int) -> String {
            """
            INSERT INTO outbox (id, kind, related_id, sealed_message, status, attempts, next_attempt_at, created_at)
            VALUES \(Bucket.rows(from: 1, columns: 8, count: size))
            """
        }
        let rows: [New]
        var size: Int { rows.count }
        var binds: [any SQLValue] {
            rows.flatMap { [$0.id, $0.kind.rawValue, $0.relatedID, $0.sealedMessage, pending, 0, $0.at, $0.at] as [any SQLValue] }
        }
    }

    private struct Finish: Statement {
        static let writes = true
        static func text(size: Int) -> String {
            """
            UPDATE outbox SET status = $1, sent_at = $2, sealed_message = '', last_error = NULL, claimed_until = NULL
            WHERE id IN (\(Bucket.list(from: 3, count: size)))
            """
        }
        let status: String, sentAt: Date?, ids: [UUID]
        var size: Int { ids.count }
        var binds: [any SQLValue] { [status, sentAt] + ids }
    }

    private struct Retry: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            "UPDATE outbox SET next_attempt_at = $1, last_error = $2, claimed_until = NULL WHERE id = $3"
        }
        let next: Date, reason: String, id: UUID
        var binds: [any SQLValue] { [next, reason, id] }
    }

    private struct Fail: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            "UPDATE outbox SET status = '\(OutboxEmail.Status.failed.rawValue)', sealed_message = '', last_error = $1, claimed_until = NULL WHERE id = $2"
        }
        let reason: String, id: UUID
        var binds: [any SQLValue] { [reason, id] }
    }
}
