import CaseTalkCore
import Fluent
import Foundation

/// The sign-in columns of the two account tables, `staff_users` and `patients` (SPEC §5, §9):
/// the failure count, the lock, the password hash, the last sign-in, and staff's two-step key;
/// and a practice's staff with those columns, for its admins. Each decision is
/// one conditional statement, so parallel guesses or two servers cannot lose a count or pass a
/// lock. Which table a statement touches follows from the `Principal`, never from a string.
enum AccountsTable {
    enum Failure: Equatable, Sendable {
        /// Counted; `lockedUntil` is set when this failure reached the lock.
        case counted(lockedUntil: Date?)
        /// Not counted: a lock was running.
        case alreadyLocked
    }

    /// Counts a failure while the account is not locked; the one that reaches `maxFailures`
    /// locks it until `lockUntil` and starts the count again.
    static func recordFailure(_ account: Principal, maxFailures: Int, lockUntil: Date, now: Date,
                              on db: any Database) async throws -> Failure {
        struct Row: Decodable { let lockedUntil: Date? }
        let row: Row? = switch account {
        case .staff(let id): try await db.first(CountFailure<StaffLogins>(maxFailures: maxFailures, lockUntil: lockUntil, id: id, now: now), as: Row.self)
        case .patient(let id): try await db.first(CountFailure<PatientLogins>(maxFailures: maxFailures, lockUntil: lockUntil, id: id, now: now), as: Row.self)
        }
        guard let row else { return .alreadyLocked }
        return .counted(lockedUntil: row.lockedUntil.flatMap { $0 > now ? $0 : nil })
    }

    /// The last step of a sign-in: clears the count, only while the account is not locked (a
    /// right answer racing the wrong one that locks cannot slip through). True when admitted.
    static func admit(_ account: Principal, now: Date, on db: any Database) async throws -> Bool {
        switch account {
        case .staff(let id): try await !db.rows(Admit<StaffLogins>(id: id, now: now)).isEmpty
        case .patient(let id): try await !db.rows(Admit<PatientLogins>(id: id, now: now)).isEmpty
        }
    }

    /// `admit`, storing the password's hash in the same statement (a rehash on a new cost).
    static func admit(_ account: Principal, now: Date, passwordHash: String, on db: any Database) async throws -> Bool {
        switch account {
        case .staff(let id): try await !db.rows(AdmitWithPassword<StaffLogins>(id: id, now: now, hash: passwordHash)).isEmpty
        case .patient(let id): try await !db.rows(AdmitWithPassword<PatientLogins>(id: id, now: now, hash: passwordHash)).isEmpty
        }
    }

    /// A right password before a second step: stores its hash while the account is not locked,
    /// leaving the count (a second step's wrong codes keep counting). False when locked.
    static func acceptPassword(_ account: Principal, now: Date, passwordHash: String, on db: any Database) async throws -> Bool {
        switch account {
        case .staff(let id): try await !db.rows(AcceptPassword<StaffLogins>(hash: passwordHash, id: id, now: now)).isEmpty
        case .patient(let id): try await !db.rows(AcceptPassword<PatientLogins>(hash: passwordHash, id: id, now: now)).isEmpty
        }
    }

    // MARK: A practice's staff

    /// One staff member as the practice's admins see them (SPEC §9: **Practice**).
    struct StaffMember: Decodable, Sendable {
        let id: UUID
        let name: String
        let email: String
        let role: String
        let isAdmin: Bool
        let lockedUntil: Date?
        let totpEnabledAt: Date?
        let lastSignInAt: Date?
        let deactivatedAt: Date?
    }

    /// A staff member's name where others see it: "{name} (inactive)" once deactivated (SPEC §9),
    /// for any statement that joins `staff_users`.
    static func shownName(of table: String = "staff_users") -> String {
        "CASE WHEN \(table).deactivated_at IS NULL THEN \(table).name ELSE \(table).name || ' (inactive)' END"
    }

    /// The staff of practice `practiceID`, by name.
    static func staff(ofPractice practiceID: UUID, on db: any Database) async throws -> [StaffMember] {
        try await db.all(PracticeStaff(practiceID: practiceID), as: StaffMember.self)
    }

    /// The addresses of practice `practiceID`'s active admins.
    static func adminAddresses(ofPractice practiceID: UUID, on db: any Database) async throws -> [String] {
        struct Row: Decodable { let email: String }
        return try await db.all(AdminAddresses(practiceID: practiceID), as: Row.self).map(\.email)
    }

    /// Lifts the sign-in lock of staff member `staffID`, only if they are of practice
    /// `practiceID` and locked at `now`; whether it did.
    static func unlockStaff(_ staffID: UUID, practiceID: UUID, now: Date, on db: any Database) async throws -> Bool {
        try await !db.rows(UnlockStaff(id: staffID, practiceID: practiceID, now: now)).isEmpty
    }

    /// Deactivates staff member `staffID` of practice `practiceID` (SPEC §9) unless they are its
    /// last active admin: one conditional statement, run after `PracticesTable.lock` so that two
    /// admins deactivating each other at once cannot both pass. Their two-step key goes (a
    /// reactivation sets it up anew). Whether it did.
    static func deactivateStaff(_ staffID: UUID, practiceID: UUID, now: Date, on db: any Database) async throws -> Bool {
        try await !db.rows(DeactivateStaff(now: now, id: staffID, practiceID: practiceID)).isEmpty
    }

    /// **Edit** (SPEC §9): the name, role and admin mark of staff member `staffID` of practice
    /// `practiceID`, unless it would leave the practice without an active admin: one conditional
    /// statement, after `PracticesTable.lock` (as `deactivateStaff`). Whether it did.
    static func editStaff(_ staffID: UUID, practiceID: UUID, name: String, role: StaffRole, isAdmin: Bool,
                          on db: any Database) async throws -> Bool {
        try await !db.rows(EditStaff(name: name, role: role.rawValue, isAdmin: isAdmin, id: staffID, practiceID: practiceID)).isEmpty
    }

    /// **Reset two-step verification** (SPEC §9): takes the two-step key of active staff member
    /// `staffID` of practice `practiceID`, who sets it up again at the next sign-in. Their
    /// address, when it did.
    static func resetTwoStep(_ staffID: UUID, practiceID: UUID, on db: any Database) async throws -> String? {
        struct Row: Decodable { let email: String }
        return try await db.first(ResetTwoStep(id: staffID, practiceID: practiceID), as: Row.self)?.email
    }

    /// Restores sign-in to a deactivated staff member of practice `practiceID`, with no lock and
    /// no two-step key yet. Whether it did.
    static func reactivateStaff(_ staffID: UUID, practiceID: UUID, on db: any Database) async throws -> Bool {
        try await !db.rows(ReactivateStaff(id: staffID, practiceID: practiceID)).isEmpty
    }

    /// **Change password**: the staff member's new password hash.
    static func setStaffPassword(_ staffID: UUID, hash: String, on db: any Database) async throws {
        try await db.run(SetStaffPassword(hash: hash, id: staffID))
    }

    private struct SetStaffPassword: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "UPDATE staff_users SET password_hash = $1 WHERE id = $2" }
        let hash: String, id: UUID
        var binds: [any SQLValue] { [hash, id] }
    }

    // MARK: Staff two-step verification

    /// A staff member's sealed TOTP key and the last step accepted.
    struct TwoStepKey: Decodable, Sendable {
        let totpKey: String?
        let totpLastStep: Int64?
    }

    static func twoStepKey(staffID: UUID, on db: any Database) async throws -> TwoStepKey? {
        try await db.first(ReadTwoStepKey(id: staffID), as: TwoStepKey.self)
    }

    /// `admit` for a TOTP code of `step`: only a step later than the last one used, which it
    /// then becomes (a code is taken once).
    static func admitStaff(_ staffID: UUID, usingStep step: Int64, now: Date, on db: any Database) async throws -> Bool {
        try await !db.rows(AdmitWithStep(step: step, id: staffID, now: now)).isEmpty
    }

    /// Stores a new sealed key (its first code's step counts as used), only where none is yet.
    static func setTwoStepKey(staffID: UUID, sealed: String, usedStep: Int64?, now: Date, on db: any Database) async throws -> Bool {
        try await !db.rows(SetTwoStepKey(sealed: sealed, usedStep: usedStep, now: now, id: staffID)).isEmpty
    }

    /// Counts one reset email for the account if it has had fewer than `limit` in its current
    /// window (which starts again with this email once `window` has passed since it began), in one
    /// statement; whether it was counted, and so may be sent.
    static func takeResetEmail(_ account: Principal, limit: Int, window: TimeInterval, now: Date, on db: any Database) async throws -> Bool {
        let expiredBefore = now.addingTimeInterval(-window)
        return switch account {
        case .staff(let id): try await !db.rows(TakeResetEmail<StaffLogins>(expiredBefore: expiredBefore, now: now, limit: limit, id: id)).isEmpty
        case .patient(let id): try await !db.rows(TakeResetEmail<PatientLogins>(expiredBefore: expiredBefore, now: now, limit: limit, id: id)).isEmpty
        }
    }

    // MARK: Statements

    /// The last-admin rule (SPEC §9): the practice bound as `$practiceID` has an active admin
    /// other than the account bound as `$id`.
    private static func anotherActiveAdmin(id: Int, practiceID: Int) -> String {
        """
        EXISTS (SELECT 1 FROM staff_users AS other WHERE other.practice_id = $\(practiceID) AND other.id <> $\(id)
                AND other.is_admin AND other.deactivated_at IS NULL)
        """
    }

    /// Not locked at the time bound as `$n`.
    private static func unlocked(_ n: Int) -> String { "(locked_until IS NULL OR locked_until <= $\(n))" }

    private struct CountFailure<T: LoginTable>: Statement {
        static var writes: Bool { true }
        static func text(size _: Int) -> String {
            """
            UPDATE \(T.name) SET
              failed_logins = CASE WHEN failed_logins + 1 >= $1 THEN 0 ELSE failed_logins + 1 END,
              locked_until = CASE WHEN failed_logins + 1 >= $1 THEN $2 ELSE locked_until END
            WHERE id = $3 AND \(unlocked(4))
            RETURNING locked_until
            """
        }
        let maxFailures: Int, lockUntil: Date, id: UUID, now: Date
        var binds: [any SQLValue] { [maxFailures, lockUntil, id, now] }
    }

    private struct Admit<T: LoginTable>: Statement {
        static var writes: Bool { true }
        static func text(size _: Int) -> String {
            "UPDATE \(T.name) SET failed_logins = 0, locked_until = NULL, last_sign_in_at = $1 WHERE id = $2 AND \(unlocked(1)) RETURNING id"
        }
        let id: UUID, now: Date
        var binds: [any SQLValue] { [now, id] }
    }

    private struct AdmitWithPassword<T: LoginTable>: Statement {
        static var writes: Bool { true }
        static func text(size _: Int) -> String {
            """
            UPDATE \(T.name) SET failed_logins = 0, locked_until = NULL, password_hash = $1, last_sign_in_at = $2
            WHERE id = $3 AND \(unlocked(2)) RETURNING id
            """
        }
        let id: UUID, now: Date, hash: String
        var binds: [any SQLValue] { [hash, now, id] }
    }

    private struct AcceptPassword<T: LoginTable>: Statement {
        static var writes: Bool { true }
        static func text(size _: Int) -> String {
            "UPDATE \(T.name) SET password_hash = $1 WHERE id = $2 AND \(unlocked(3)) RETURNING id"
        }
        let hash: String, id: UUID, now: Date
        var binds: [any SQLValue] { [hash, id, now] }
    }

    private struct TakeResetEmail<T: LoginTable>: Statement {
        static var writes: Bool { true }
        static func text(size _: Int) -> String {
            """
            UPDATE \(T.name) SET
              reset_emails = CASE WHEN reset_window_start IS NULL OR reset_window_start <= $1 THEN 1 ELSE reset_emails + 1 END,
              reset_window_start = CASE WHEN reset_window_start IS NULL OR reset_window_start <= $1 THEN $2 ELSE reset_window_start END
            WHERE (reset_window_start IS NULL OR reset_window_start <= $1 OR reset_emails < $3) AND id = $4
            RETURNING id
            """
        }
        let expiredBefore: Date, now: Date, limit: Int, id: UUID
        var binds: [any SQLValue] { [expiredBefore, now, limit, id] }
    }

    private struct PracticeStaff: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            """
            SELECT id, name, email, role, is_admin, locked_until, totp_enabled_at, last_sign_in_at, deactivated_at FROM staff_users
            WHERE practice_id = $1 ORDER BY name, id
            """
        }
        let practiceID: UUID
        var binds: [any SQLValue] { [practiceID] }
    }

    private struct AdminAddresses: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            "SELECT email FROM staff_users WHERE practice_id = $1 AND is_admin AND deactivated_at IS NULL ORDER BY email"
        }
        let practiceID: UUID
        var binds: [any SQLValue] { [practiceID] }
    }

    private struct UnlockStaff: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE staff_users SET failed_logins = 0, locked_until = NULL
            WHERE id = $1 AND practice_id = $2 AND locked_until > $3 RETURNING id
            """
        }
        let id: UUID, practiceID: UUID, now: Date
        var binds: [any SQLValue] { [id, practiceID, now] }
    }

    private struct DeactivateStaff: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE staff_users SET deactivated_at = $1, totp_key = NULL, totp_last_step = NULL, totp_enabled_at = NULL,
              failed_logins = 0, locked_until = NULL
            WHERE id = $2 AND practice_id = $3 AND deactivated_at IS NULL
              AND (NOT is_admin OR \(anotherActiveAdmin(id: 2, practiceID: 3)))
            RETURNING id
            """
        }
        let now: Date, id: UUID, practiceID: UUID
        var binds: [any SQLValue] { [now, id, practiceID] }
    }

    private struct EditStaff: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE staff_users SET name = $1, role = $2, is_admin = $3
            WHERE id = $4 AND practice_id = $5
              AND ($3 OR NOT is_admin OR deactivated_at IS NOT NULL OR \(anotherActiveAdmin(id: 4, practiceID: 5)))
            RETURNING id
            """
        }
        let name: String, role: String, isAdmin: Bool, id: UUID, practiceID: UUID
        var binds: [any SQLValue] { [name, role, isAdmin, id, practiceID] }
    }

    private struct ResetTwoStep: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE staff_users SET totp_key = NULL, totp_last_step = NULL, totp_enabled_at = NULL
            WHERE id = $1 AND practice_id = $2 AND deactivated_at IS NULL AND totp_key IS NOT NULL RETURNING email
            """
        }
        let id: UUID, practiceID: UUID
        var binds: [any SQLValue] { [id, practiceID] }
    }

    private struct ReactivateStaff: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE staff_users SET deactivated_at = NULL, failed_logins = 0, locked_until = NULL
            WHERE id = $1 AND practice_id = $2 AND deactivated_at IS NOT NULL RETURNING id
            """
        }
        let id: UUID, practiceID: UUID
        var binds: [any SQLValue] { [id, practiceID] }
    }

    private struct ReadTwoStepKey: Statement {
        static let writes = false
        static func text(size _: Int) -> String { "SELECT totp_key, totp_last_step FROM staff_users WHERE id = $1" }
        let id: UUID
        var binds: [any SQLValue] { [id] }
    }

    private struct AdmitWithStep: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE staff_users SET failed_logins = 0, locked_until = NULL, totp_last_step = $1, last_sign_in_at = $2
            WHERE id = $3 AND \(unlocked(2)) AND (totp_last_step IS NULL OR totp_last_step < $1)
            RETURNING id
            """
        }
        let step: Int64, id: UUID, now: Date
        var binds: [any SQLValue] { [step, now, id] }
    }

    private struct SetTwoStepKey: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE staff_users SET totp_key = $1, totp_last_step = $2, totp_enabled_at = $3
            WHERE id = $4 AND totp_key IS NULL
            RETURNING id
            """
        }
        let sealed: String, usedStep: Int64?, now: Date, id: UUID
        var binds: [any SQLValue] { [sealed, usedStep, now, id] }
    }
}

private protocol LoginTable { static var name: String { get } }
private enum StaffLogins: LoginTable { static let name = "staff_users" }
private enum PatientLogins: LoginTable { static let name = "patients" }
