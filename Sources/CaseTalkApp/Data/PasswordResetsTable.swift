import Fluent
import Foundation

/// The `password_resets` table (a patient's reset, its code and its verified session) and
/// `password_reset_requests` (a **Forgot password?** request waiting for the worker, its address
/// sealed). See `PasswordResets`; the code columns are `CodeHoldersTable`'s.
enum PasswordResetsTable {
    /// A request waiting to be answered.
    struct Waiting: Decodable, Sendable {
        let id: UUID
        let emailSealed: String
        let clientAddress: String
    }

    static func addRequest(id: UUID, emailSealed: String, clientAddress: String, now: Date, on db: any Database) async throws {
        try await db.run(AddRequest(id: id, emailSealed: emailSealed, clientAddress: clientAddress, now: now))
    }

    /// The oldest requests, at most `limit`.
    static func dueRequests(limit: Int, on db: any Database) async throws -> [Waiting] {
        try await db.all(DueRequests(limit: limit), as: Waiting.self)
    }

    /// Takes the request away: true for the one caller that got it.
    static func takeRequest(id: UUID, on db: any Database) async throws -> Bool {
        try await !db.rows(TakeRequest(id: id)).isEmpty
    }

    /// Closes every open reset of the patient (a new one replaces them).
    static func closeOpen(patientID: UUID, now: Date, on db: any Database) async throws {
        try await db.run(CloseOpen(now: now, patientID: patientID))
    }

    /// Closes the reset when it is open and was verified in `sessionID`: true for the one caller
    /// that closed it (a reset sets one password).
    static func closeVerified(id: UUID, sessionID: String, now: Date, on db: any Database) async throws -> Bool {
        try await !db.rows(CloseVerified(now: now, id: id, sessionID: sessionID)).isEmpty
    }

    private struct AddRequest: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            "INSERT INTO password_reset_requests (id, email_sealed, client_address, requested_at) VALUES ($1, $2, $3, $4)"
        }
        let id: UUID, emailSealed: String, clientAddress: String, now: Date
        var binds: [any SQLValue] { [id, emailSealed, clientAddress, now] }
    }

    private struct DueRequests: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            "SELECT id, email_sealed, client_address FROM password_reset_requests ORDER BY requested_at LIMIT $1"
        }
        let limit: Int
        var binds: [any SQLValue] { [limit] }
    }

    private struct TakeRequest: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "DELETE FROM password_reset_requests WHERE id = $1 RETURNING id" }
        let id: UUID
        var binds: [any SQLValue] { [id] }
    }

    private struct CloseOpen: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            "UPDATE password_resets SET closed_at = $1 WHERE patient_id = $2 AND closed_at IS NULL"
        }
        let now: Date, patientID: UUID
        var binds: [any SQLValue] { [now, patientID] }
    }

    private struct CloseVerified: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE password_resets SET closed_at = $1
            WHERE id = $2 AND closed_at IS NULL AND verified_at IS NOT NULL AND verified_session = $3
            RETURNING id
            """
        }
        let now: Date, id: UUID, sessionID: String
        var binds: [any SQLValue] { [now, id, sessionID] }
    }
}
