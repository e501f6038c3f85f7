import Fluent
import Foundation

/// The `remembered_browsers` table: a device cookie's hash, its patient and when it ends (see
/// `RememberedBrowsers`).
enum RememberedBrowsersTable {
    static func isLive(tokenHash: String, patientID: UUID, now: Date, on db: any Database) async throws -> Bool {
        try await !db.rows(Live(tokenHash: tokenHash, patientID: patientID, now: now)).isEmpty
    }

    static func insert(tokenHash: String, patientID: UUID, now: Date, expiresAt: Date, on db: any Database) async throws {
        try await db.run(Insert(tokenHash: tokenHash, patientID: patientID, now: now, expiresAt: expiresAt))
    }

    static func deleteAll(patientID: UUID, on db: any Database) async throws {
        try await db.run(DeleteAll(patientID: patientID))
    }

    static func deleteExpired(now: Date, on db: any Database) async throws {
        try await db.run(DeleteExpired(now: now))
    }

    private struct Live: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            "SELECT token_hash FROM remembered_browsers WHERE token_hash = $1 AND patient_id = $2 AND expires_at > $3"
        }
        let tokenHash: String, patientID: UUID, now: Date
        var binds: [any SQLValue] { [tokenHash, patientID, now] }
    }

    private struct Insert: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            "INSERT INTO remembered_browsers (token_hash, patient_id, created_at, expires_at) VALUES ($1, $2, $3, $4)"
        }
        let tokenHash: String, patientID: UUID, now: Date, expiresAt: Date
        var binds: [any SQLValue] { [tokenHash, patientID, now, expiresAt] }
    }

    private struct DeleteAll: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "DELETE FROM remembered_browsers WHERE patient_id = $1" }
        let patientID: UUID
        var binds: [any SQLValue] { [patientID] }
    }

    private struct DeleteExpired: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "DELETE FROM remembered_browsers WHERE expires_at <= $1" }
        let now: Date
        var binds: [any SQLValue] { [now] }
    }
}
