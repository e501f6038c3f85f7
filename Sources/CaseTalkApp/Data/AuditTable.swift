import CaseTalkCore
import Fluent
import Foundation

/// The audit trail's tables: `audit_entries` (append-only; rows: `AuditEntry`) and `audit_head`,
/// the one row with the last sequence number and hash.
enum AuditTable {
    struct Head: Decodable, Equatable, Sendable { let seq: Int64; let hash: String }

    /// Takes `count` sequence numbers: the head after them. The first write of an append, so it
    /// also takes the lock that orders writers.
    static func takeNumbers(_ count: Int, on db: any Database) async throws -> Head? {
        try await db.first(TakeNumbers(count: count), as: Head.self)
    }

    static func setHeadHash(_ hash: String, on db: any Database) async throws {
        try await db.run(SetHeadHash(hash: hash))
    }

    static func head(on db: any Database) async throws -> Head? {
        try await db.first(ReadHead(), as: Head.self)
    }

    /// An entry with its place in the chain.
    struct Row: Sendable {
        let record: AuditRecord
        let previousHash: String
        let hash: String
    }

    static func append(_ rows: [Row], on db: any Database) async throws {
        for chunk in Bucket.chunks(rows) { try await db.run(Insert(rows: Array(chunk))) }
    }

    private struct TakeNumbers: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash" }
        let count: Int
        var binds: [any SQLValue] { [count] }
    }

    private struct SetHeadHash: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "UPDATE audit_head SET hash = $1 WHERE id = 1" }
        let hash: String
        var binds: [any SQLValue] { [hash] }
    }

    private struct ReadHead: Statement {
        static let writes = false
        static func text(size _: Int) -> String { "SELECT seq, hash FROM audit_head WHERE id = 1" }
        var binds: [any SQLValue] { [] }
    }

    private struct Insert: Statement {
        static let writes = true
        static func text(size: Int) -> String {
            """
            INSERT INTO audit_entries (seq, occurred_at_ms, actor_kind, actor_id, action, subject, client_address, user_agent, previous_hash, hash)
            VALUES \(Bucket.rows(from: 1, columns: 10, count: size))
            """
        }
        let rows: [Row]
        var size: Int { rows.count }
        var binds: [any SQLValue] {
            rows.flatMap { row -> [any SQLValue] in
                let r = row.record
                return [r.sequence, r.occurredAtMillis, r.actorKind, r.actorID, r.action, r.subject, r.clientAddress, r.userAgent,
                        row.previousHash, row.hash]
            }
        }
    }
}
