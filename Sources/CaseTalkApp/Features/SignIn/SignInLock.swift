import CaseTalkCore
import Fluent
import Foundation

/// The sign-in lock of SPEC §5 and §9: wrong passwords and wrong second-step codes count
/// together; the fifth in a row locks the account for 15 minutes. Each decision is one
/// conditional statement, so parallel guesses or two servers cannot lose a count or pass a lock.
enum SignInLock {
    /// Counts a failure and locks on the fifth in a row, counting only while the account is not
    /// locked. True when the account is locked afterwards (by this failure or already).
    @discardableResult
    static func recordFailure(_ account: Principal, reason: String, clientAddress: String, now: Date, auditKey: AuditKey,
                              on db: any Database) async throws -> Bool {
        let actor = AuditActor(account)
        return try await db.transaction { tx in
            let failure = try await AccountsTable.recordFailure(account, maxFailures: SignInLockout.maxConsecutiveFailures,
                                                                lockUntil: now.addingTimeInterval(SignInLockout.lockDuration),
                                                                now: now, on: tx)
            switch failure {
            case .alreadyLocked:
                try await Audit.record(.signInFailed, actor: actor, subject: "locked", clientAddress: clientAddress, at: now, key: auditKey, on: tx)
                return true
            case .counted(let lockedUntil):
                try await Audit.record(.signInFailed, actor: actor, subject: reason, clientAddress: clientAddress, at: now, key: auditKey, on: tx)
                guard lockedUntil != nil else { return false }
                try await Audit.record(.accountLocked, actor: actor, subject: "", clientAddress: clientAddress, at: now, key: auditKey, on: tx)
                return true
            }
        }
    }
}
