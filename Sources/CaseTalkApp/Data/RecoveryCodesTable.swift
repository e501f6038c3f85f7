import Fluent
import Foundation

/// The `recovery_codes` table: a staff member's ten recovery codes, kept as hashes (see `StaffTwoStep`).
enum RecoveryCodesTable {
    /// Uses up the unused code with `hash`: true when there was one (a code is taken once).
    static func use(staffID: UUID, hash: String, now: Date, on db: any Database) async throws -> Bool {
        try await !db.rows(Use(now: now, staffID: staffID, hash: hash)).isEmpty
    }

    /// Voids every code of the staff member (a deactivation, SPEC §9).
    static func removeAll(staffID: UUID, on db: any Database) async throws {
        try await db.run(DeleteAll(staffID: staffID))
    }

    /// Puts `hashes` in place of every earlier code of the staff member.
    static func replace(staffID: UUID, with hashes: [String], now: Date, on db: any Database) async throws {
        try await removeAll(staffID: staffID, on: db)
        for chunk in Bucket.chunks(hashes) {
            try await db.run(Insert(staffID: staffID, now: now, rows: chunk.map { (UUID(), $0) }))
        }
    }

    private struct Use: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            "UPDATE recovery_codes SET used_at = $1 WHERE staff_id = $2 AND code_hash = $3 AND used_at IS NULL RETURNING id"
        }
        let now: Date, staffID: UUID, hash: String
        var binds: [any SQLValue] { [now, staffID, hash] }
    }

    private struct DeleteAll: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "DELETE FROM recovery_codes WHERE staff_id = $1" }
        let staffID: UUID
        var binds: [any SQLValue] { [staffID] }
    }

    /// `(staff_id, created_at, id, code_hash)`: the first two shared by every row.
    private struct Insert: Statement {
        static let writes = true
        static func text(size: Int) -> String {
            let rows = (0..<size).map { "($1, $2, $\(3 + 2 * $0), $\(4 + 2 * $0))" }.joined(separator: ", ")
            return "INSERT INTO recovery_codes (staff_id, created_at, id, code_hash) VALUES \(rows)"
        }
        let staffID: UUID, now: Date, rows: [(UUID, String)]
        var size: Int { rows.count }
        var binds: [any SQLValue] { [staffID, now] + rows.flatMap { [$0.0, $0.1] as [any SQLValue] } }
    }
}
