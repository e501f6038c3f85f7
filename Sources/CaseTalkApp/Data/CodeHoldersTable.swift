import CaseTalkCore
import Fluent
import Foundation

/// A table that holds a secret code's state (SPEC §3, §4): the same code columns on each, keyed
/// by the row they belong to. Which table a statement touches is this type, never a string.
enum CodeHolderTable: Sendable {
    /// A registration's code, keyed by its invitation.
    case registrations
    /// A patient's code for signing in from a browser not seen before, keyed by the patient.
    case signInCodes
    /// A password reset's code, keyed by the reset.
    case passwordResets
}

/// The code statements of the three tables that hold codes (see `VerificationCodes`, whose
/// limits they enforce, each in one conditional statement).
enum CodeHoldersTable {
    /// The code columns of a holder's row.
    struct State: Decodable, Sendable {
        let codeHmac: String?
        let codeNumber: String?
        let codeChannel: String?
        let codeExpiresAt: Date?
        let codeTries: Int
        let lockedUntil: Date?
        let lastSentAt: Date?
    }

    /// The holder's code columns; nil when its row is gone.
    static func state(of table: CodeHolderTable, id: UUID, on db: any Database) async throws -> State? {
        try await state(table.type, id: id, on: db)
    }

    /// Takes the holder's send window at `now`: only when the last send was at or before
    /// `lastSendBy` and no lock runs. False when the window or a lock refused it.
    static func claimSend(of table: CodeHolderTable, id: UUID, now: Date, lastSendBy: Date, on db: any Database) async throws -> Bool {
        try await claimSend(table.type, id: id, now: now, lastSendBy: lastSendBy, on: db)
    }

    /// Gives back the window taken at `claimedAt` (the send did not happen).
    static func giveBackSend(of table: CodeHolderTable, id: UUID, claimedAt: Date, on db: any Database) async throws {
        try await giveBackSend(table.type, id: id, claimedAt: claimedAt, on: db)
    }

    /// A new code (its HMAC), sent to `number` by `channel`, with no tries yet.
    static func storeCode(of table: CodeHolderTable, id: UUID, hmac: String, number: String, channel: String,
                          expiresAt: Date, on db: any Database) async throws {
        try await storeCode(table.type, id: id, hmac: hmac, number: number, channel: channel, expiresAt: expiresAt, on: db)
    }

    /// What a check left: the code's HMAC (nil once it was right, or a lock killed it), its tries, the lock.
    struct Checked: Decodable, Sendable {
        let codeHmac: String?
        let codeTries: Int
        let lockedUntil: Date?
    }

    /// Counts and matches a code in one statement (see `VerificationCodes.check`); nil when no
    /// live, unlocked code with tries left was there. `lockEnds[n]` is when a lock ends after `n`
    /// locks before it (the last for that many and more).
    static func check(of table: CodeHolderTable, id: UUID, hmac: String, now: Date, binding: String?, lockEnds: [Date],
                      on db: any Database) async throws -> Checked? {
        precondition(lockEnds.count == CodeLimits.maxLockDoublings + 1)
        return try await check(table.type, id: id, hmac: hmac, now: now, binding: binding, lockEnds: lockEnds, on: db)
    }

    /// The patient's sign-in code row, made once and kept: its limits carry over from one
    /// sign-in to the next.
    static func keepSignInRow(patientID: UUID, on db: any Database) async throws {
        try await db.run(KeepSignInRow(patientID: patientID))
    }

    private struct KeepSignInRow: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            INSERT INTO sign_in_codes (patient_id, code_tries, wrong_streak, lock_count) VALUES ($1, 0, 0, 0)
            ON CONFLICT (patient_id) DO NOTHING
            """
        }
        let patientID: UUID
        var binds: [any SQLValue] { [patientID] }
    }

    // MARK: One statement type per table (each prepared under its own name on PostgreSQL)

    private static func state<T: CodeTable>(_: T.Type, id: UUID, on db: any Database) async throws -> State? {
        try await db.first(ReadState<T>(id: id), as: State.self)
    }

    private static func claimSend<T: CodeTable>(_: T.Type, id: UUID, now: Date, lastSendBy: Date, on db: any Database) async throws -> Bool {
        try await !db.rows(ClaimSend<T>(now: now, id: id, lastSendBy: lastSendBy)).isEmpty
    }

    private static func giveBackSend<T: CodeTable>(_: T.Type, id: UUID, claimedAt: Date, on db: any Database) async throws {
        try await db.run(GiveBackSend<T>(id: id, claimedAt: claimedAt))
    }

    private static func storeCode<T: CodeTable>(_: T.Type, id: UUID, hmac: String, number: String, channel: String,
                                                expiresAt: Date, on db: any Database) async throws {
        try await db.run(StoreCode<T>(hmac: hmac, number: number, channel: channel, expiresAt: expiresAt, id: id))
    }

    private static func check<T: CodeTable>(_: T.Type, id: UUID, hmac: String, now: Date, binding: String?, lockEnds: [Date],
                                            on db: any Database) async throws -> Checked? {
        try await db.first(Check<T>(hmac: hmac, now: now, binding: binding, lockEnds: lockEnds, id: id), as: Checked.self)
    }

    private struct ReadState<T: CodeTable>: Statement {
        static var writes: Bool { false }
        static func text(size _: Int) -> String {
            """
            SELECT code_hmac, code_number, code_channel, code_expires_at, code_tries, locked_until, last_sent_at
            FROM \(T.name) WHERE \(T.key) = $1
            """
        }
        let id: UUID
        var binds: [any SQLValue] { [id] }
    }

    private struct ClaimSend<T: CodeTable>: Statement {
        static var writes: Bool { true }
        static func text(size _: Int) -> String {
            """
            UPDATE \(T.name) SET last_sent_at = $1
            WHERE \(T.key) = $2 AND (last_sent_at IS NULL OR last_sent_at <= $3) AND (locked_until IS NULL OR locked_until <= $1)
            RETURNING \(T.key)
            """
        }
        let now: Date, id: UUID, lastSendBy: Date
        var binds: [any SQLValue] { [now, id, lastSendBy] }
    }

    private struct GiveBackSend<T: CodeTable>: Statement {
        static var writes: Bool { true }
        static func text(size _: Int) -> String { "UPDATE \(T.name) SET last_sent_at = NULL WHERE \(T.key) = $1 AND last_sent_at = $2" }
        let id: UUID, claimedAt: Date
        var binds: [any SQLValue] { [id, claimedAt] }
    }

    private struct StoreCode<T: CodeTable>: Statement {
        static var writes: Bool { true }
        static func text(size _: Int) -> String {
            """
            UPDATE \(T.name) SET code_hmac = $1, code_number = $2, code_channel = $3, code_expires_at = $4, code_tries = 0
            WHERE \(T.key) = $5
            """
        }
        let hmac: String, number: String, channel: String, expiresAt: Date, id: UUID
        var binds: [any SQLValue] { [hmac, number, channel, expiresAt, id] }
    }

    /// Every SET reads the row as it was before the statement, on both engines. A right code
    /// clears the code and records the session it binds; a wrong one adds a try and one to the
    /// wrong codes in a row, and the one that reaches the lock's count locks and kills the code.
    private struct Check<T: CodeTable>: Statement {
        static var writes: Bool { true }
        static func text(size _: Int) -> String {
            let locks = "(code_hmac <> $1 AND wrong_streak + 1 >= \(CodeLimits.wrongInARowBeforeLock))"
            let doublings = CodeLimits.maxLockDoublings
            let lockEnd = (0..<doublings).map { "WHEN lock_count = \($0) THEN $\(4 + $0)" }.joined(separator: " ")
            return """
                UPDATE \(T.name) SET
                  verified_at = CASE WHEN code_hmac = $1 THEN $2 ELSE verified_at END,
                  verified_session = CASE WHEN code_hmac = $1 THEN $3 ELSE verified_session END,
                  code_tries = CASE WHEN code_hmac = $1 THEN code_tries ELSE code_tries + 1 END,
                  wrong_streak = CASE WHEN code_hmac = $1 OR \(locks) THEN 0 ELSE wrong_streak + 1 END,
                  locked_until = CASE WHEN NOT \(locks) THEN locked_until \(lockEnd) ELSE $\(4 + doublings) END,
                  lock_count = CASE WHEN \(locks) THEN lock_count + 1 ELSE lock_count END,
                  code_hmac = CASE WHEN code_hmac = $1 OR \(locks) THEN NULL ELSE code_hmac END
                WHERE \(T.key) = $\(5 + doublings)
                  AND code_hmac IS NOT NULL AND code_expires_at > $2 AND code_tries < \(CodeLimits.triesPerCode)
                  AND (locked_until IS NULL OR locked_until <= $2)
                RETURNING code_hmac, code_tries, locked_until
                """
        }
        let hmac: String, now: Date, binding: String?, lockEnds: [Date], id: UUID
        var binds: [any SQLValue] { [hmac, now, binding] + lockEnds + [id] }
    }
}

private protocol CodeTable {
    static var name: String { get }
    static var key: String { get }
}
private enum RegistrationCodes: CodeTable { static let name = "registrations", key = "invitation_id" }
private enum SignInCodes: CodeTable { static let name = "sign_in_codes", key = "patient_id" }
private enum ResetCodes: CodeTable { static let name = "password_resets", key = "id" }

private extension CodeHolderTable {
    var type: any CodeTable.Type {
        switch self {
        case .registrations: RegistrationCodes.self
        case .signInCodes: SignInCodes.self
        case .passwordResets: ResetCodes.self
        }
    }
}
