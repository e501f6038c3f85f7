import Fluent
import Foundation
import SQLKit

/// The `sessions` table's statements (rows: `SessionRecord`).
enum SessionsTable {
    /// A session as every request reads it: with the signed-in staff user and their practice, or
    /// the patient, joined in. A deactivated staff account joins nothing, so its sessions name no
    /// one from its very next request, whichever server deactivated it (SPEC §9).
    struct Loaded: Sendable {
        let principalKind: String?
        let principalId: UUID?
        let csrfToken: String
        let createdAt: Date
        let lastSeenAt: Date
        let registrationTokenHash: String?
        let signInEmail: String?
        let passwordResetTokenHash: String?
        let pendingKind: String?
        let pendingId: UUID?
        let pendingFactor: String?
        let pendingKey: String?
        let pendingAt: Date?
        let staffName: String?
        let staffPracticeId: UUID?
        let staffIsAdmin: Bool?
        let practiceName: String?
        let practiceTimeZone: String?
        let patientName: String?

        /// Read column by column: every request reads this row, and `Codable` with camelCase
        /// keys converts each of the 19 names on every read (measured in bench/PROFILE.md).
        init(_ row: any SQLRow) throws {
            principalKind = try row.decode(column: "principal_kind", as: String?.self)
            principalId = try row.decode(column: "principal_id", as: UUID?.self)
            csrfToken = try row.decode(column: "csrf_token", as: String.self)
            createdAt = try row.decode(column: "created_at", as: Date.self)
            lastSeenAt = try row.decode(column: "last_seen_at", as: Date.self)
            registrationTokenHash = try row.decode(column: "registration_token_hash", as: String?.self)
            signInEmail = try row.decode(column: "sign_in_email", as: String?.self)
            passwordResetTokenHash = try row.decode(column: "password_reset_token_hash", as: String?.self)
            pendingKind = try row.decode(column: "pending_kind", as: String?.self)
            pendingId = try row.decode(column: "pending_id", as: UUID?.self)
            pendingFactor = try row.decode(column: "pending_factor", as: String?.self)
            pendingKey = try row.decode(column: "pending_key", as: String?.self)
            pendingAt = try row.decode(column: "pending_at", as: Date?.self)
            staffName = try row.decode(column: "staff_name", as: String?.self)
            staffPracticeId = try row.decode(column: "staff_practice_id", as: UUID?.self)
            staffIsAdmin = try row.decode(column: "staff_is_admin", as: Bool?.self)
            practiceName = try row.decode(column: "practice_name", as: String?.self)
            practiceTimeZone = try row.decode(column: "practice_time_zone", as: String?.self)
            patientName = try row.decode(column: "patient_name", as: String?.self)
        }
    }

    static func load(idHash: String, on db: any Database) async throws -> Loaded? {
        try await db.rows(Load(idHash: idHash)).first.map(Loaded.init)
    }

    static func touch(idHash: String, at now: Date, on db: any Database) async throws {
        try await db.run(Touch(idHash: idHash, now: now))
    }

    static func delete(idHash: String, on db: any Database) async throws {
        try await db.run(Delete(idHash: idHash))
    }

    /// Ends every session of `principal`.
    static func deleteAll(of principal: Principal, on db: any Database) async throws {
        try await db.run(DeleteAll(kind: principal.kind, id: principal.id))
    }

    /// A signed-in session of one person, as their **Account** page lists it.
    struct OfPerson: Decodable, Sendable {
        let id: String
        let createdAt: Date
        let lastSeenAt: Date
    }

    /// The sessions of `principal`, most recently active first.
    static func sessions(of principal: Principal, on db: any Database) async throws -> [OfPerson] {
        try await db.all(SessionsOf(kind: principal.kind, id: principal.id), as: OfPerson.self)
    }

    /// Ends every session of `principal` but the one with `keep`: how many ended.
    static func deleteOthers(of principal: Principal, keep idHash: String, on db: any Database) async throws -> Int {
        try await db.rows(DeleteOthers(kind: principal.kind, id: principal.id, keep: idHash)).count
    }

    private struct SessionsOf: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            "SELECT id, created_at, last_seen_at FROM sessions WHERE principal_kind = $1 AND principal_id = $2 ORDER BY last_seen_at DESC, id"
        }
        let kind: String, id: UUID
        var binds: [any SQLValue] { [kind, id] }
    }

    private struct DeleteOthers: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            "DELETE FROM sessions WHERE principal_kind = $1 AND principal_id = $2 AND id <> $3 RETURNING id"
        }
        let kind: String, id: UUID, keep: String
        var binds: [any SQLValue] { [kind, id, keep] }
    }

    /// Deletes the sessions idle since `idleSince` or started before `startedBefore`.
    static func deleteExpired(idleSince: Date, startedBefore: Date, on db: any Database) async throws {
        try await db.run(DeleteExpired(idleSince: idleSince, startedBefore: startedBefore))
    }

    private struct Load: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            """
            SELECT sessions.principal_kind, sessions.principal_id, sessions.csrf_token, sessions.created_at, sessions.last_seen_at,
                   sessions.registration_token_hash, sessions.sign_in_email, sessions.password_reset_token_hash,
                   sessions.pending_kind, sessions.pending_id, sessions.pending_factor, sessions.pending_key, sessions.pending_at,
                   staff_users.name AS staff_name, staff_users.practice_id AS staff_practice_id, staff_users.is_admin AS staff_is_admin,
                   practices.name AS practice_name, practices.time_zone AS practice_time_zone, patients.name AS patient_name
            FROM sessions
            LEFT JOIN staff_users ON sessions.principal_kind = 'staff' AND staff_users.id = sessions.principal_id
                                 AND staff_users.deactivated_at IS NULL
            LEFT JOIN practices ON practices.id = staff_users.practice_id
            LEFT JOIN patients ON sessions.principal_kind = 'patient' AND patients.id = sessions.principal_id
            WHERE sessions.id = $1
            """
        }
        let idHash: String
        var binds: [any SQLValue] { [idHash] }
    }

    private struct Touch: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "UPDATE sessions SET last_seen_at = $1 WHERE id = $2" }
        let idHash: String, now: Date
        var binds: [any SQLValue] { [now, idHash] }
    }

    private struct Delete: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "DELETE FROM sessions WHERE id = $1" }
        let idHash: String
        var binds: [any SQLValue] { [idHash] }
    }

    private struct DeleteAll: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "DELETE FROM sessions WHERE principal_kind = $1 AND principal_id = $2" }
        let kind: String, id: UUID
        var binds: [any SQLValue] { [kind, id] }
    }

    private struct DeleteExpired: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "DELETE FROM sessions WHERE last_seen_at <= $1 OR created_at <= $2" }
        let idleSince: Date, startedBefore: Date
        var binds: [any SQLValue] { [idleSince, startedBefore] }
    }
}
