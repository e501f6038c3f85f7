import CaseTalkCore
import Fluent
import Foundation
import SQLKit

/// The sign-in lock of SPEC §5 and §9: wrong passwords and wrong second-step codes count
/// together; the fifth in a row locks the account for 15 minutes. Each decision is one
/// conditional statement, so parallel guesses or two servers cannot lose a count or pass a lock.
enum SignInLock {
    /// Counts a failure and locks on the fifth in a row, counting only while the account is not
    /// locked. True when the account is locked afterwards (by this failure or already).
    @discardableResult
    static func recordFailure(_ account: Principal, reason: String, clientAddress: String, now: Date, auditKey: AuditKey,
                              on db: any Database) async throws -> Bool {
        struct Row: Decodable { let locked_until: Date? }
        let actor = AuditActor(account)
        let reaches: SQLQueryString = "failed_logins + 1 >= \(literal: SignInLockout.maxConsecutiveFailures)"
        return try await db.transaction { tx in
            let row = try await tx.sql.raw("""
                UPDATE \(ident: account.table) SET
                  failed_logins = CASE WHEN \(reaches) THEN 0 ELSE failed_logins + 1 END,
                  locked_until = CASE WHEN \(reaches) THEN \(bind: now.addingTimeInterval(SignInLockout.lockDuration)) ELSE locked_until END
                WHERE id = \(bind: account.id) AND \(unlocked(now))
                RETURNING locked_until
                """).first(decoding: Row.self)
            guard let row else {
                try await Audit.record(.signInFailed, actor: actor, subject: "locked", clientAddress: clientAddress, at: now, key: auditKey, on: tx)
                return true
            }
            try await Audit.record(.signInFailed, actor: actor, subject: reason, clientAddress: clientAddress, at: now, key: auditKey, on: tx)
            guard let until = row.locked_until, until > now else { return false }
            try await Audit.record(.accountLocked, actor: actor, subject: "", clientAddress: clientAddress, at: now, key: auditKey, on: tx)
            return true
        }
    }

    /// The last step of a sign-in: clears the count, only while the account is not locked (a
    /// right answer racing the wrong one that locks cannot slip through). `also` sets more columns
    /// in the same statement, and `when` adds a condition. True when admitted.
    static func admit(_ account: Principal, now: Date, also: SQLQueryString? = nil, when: SQLQueryString? = nil,
                      on db: any Database) async throws -> Bool {
        let extra: SQLQueryString = also.map { ", \($0)" } ?? ""
        let condition: SQLQueryString = when.map { " AND \($0)" } ?? ""
        return try await !db.sql.raw("""
            UPDATE \(ident: account.table) SET failed_logins = 0, locked_until = NULL\(extra)
            WHERE id = \(bind: account.id) AND \(unlocked(now))\(condition)
            RETURNING id
            """).all().isEmpty
    }

    static func unlocked(_ now: Date) -> SQLQueryString { "(locked_until IS NULL OR locked_until <= \(bind: now))" }
}

extension Principal {
    /// The table the account lives in, with its lock columns.
    var table: String {
        switch self { case .staff: StaffUser.schema; case .patient: Patient.schema }
    }
}
