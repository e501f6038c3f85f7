import CaseTalkCore
import Fluent
import Foundation

/// Staff two-step verification (SPEC §9) as stored state: the TOTP key sealed with the data key
/// (bound to the account), the last step accepted, and ten recovery codes kept as hashes. Every
/// acceptance is one conditional statement: a code is taken once, and never while locked.
package enum StaffTwoStep {
    enum Outcome: Equatable, Sendable {
        case admitted
        case wrong
        /// Locked by this failure or before it (5 wrong passwords or codes in a row).
        case locked
    }

    /// A code from the app, for the second step of signing in. A right code with a step later
    /// than the last one used clears the failure count; anything else counts as a failure.
    static func checkCode(_ typed: String, staffID: UUID, sealer: Sealer, auditKey: AuditKey, now: Date, clientAddress: String,
                          on db: any Database) async throws -> Outcome {
        let account = Principal.staff(staffID)
        let row = try await AccountsTable.twoStepKey(staffID: staffID, on: db)
        if let sealed = row?.totpKey,
           let step = TOTP.matchingStep(typed, key: try sealer.open(sealed, context: SealedData.twoStepKeyContext(staffID)), at: now,
                                        after: row?.totpLastStep),
           try await AccountsTable.admitStaff(staffID, usingStep: step, now: now, on: db) {
            try await Audit.record(.twoStepCodeAccepted, actor: .staff(staffID), subject: "", clientAddress: clientAddress, at: now,
                                   key: auditKey, on: db)
            return .admitted
        }
        return try await SignInLock.recordFailure(account, reason: "wrong-two-step-code", clientAddress: clientAddress, now: now,
                                                  auditKey: auditKey, on: db)
            ? .locked : .wrong
    }

    /// A recovery code instead of the app's: used up by the statement that accepts it, and
    /// accepted only while the account is not locked.
    static func useRecoveryCode(_ typed: String, staffID: UUID, auditKey: AuditKey, now: Date, clientAddress: String,
                                on db: any Database) async throws -> Outcome {
        struct NotAdmitted: Error {}
        let account = Principal.staff(staffID)
        if let hash = RecoveryCodes.hash(typed) {
            do {
                try await db.transaction { tx in
                    guard try await RecoveryCodesTable.use(staffID: staffID, hash: hash, now: now, on: tx),
                          try await AccountsTable.admit(account, now: now, on: tx) else { throw NotAdmitted() }
                    try await Audit.record(.recoveryCodeUsed, actor: .staff(staffID), subject: "", clientAddress: clientAddress,
                                           at: now, key: auditKey, on: tx)
                }
                return .admitted
            } catch is NotAdmitted {}
        }
        return try await SignInLock.recordFailure(account, reason: "wrong-recovery-code", clientAddress: clientAddress, now: now,
                                                  auditKey: auditKey, on: db)
            ? .locked : .wrong
    }

    /// Turns two-step verification on with `key` (its first code, from `step`, already checked,
    /// so it counts as used) and ten new recovery codes, which are returned to be shown once.
    /// Nil when the account already has a key (set up meanwhile in another browser).
    package static func turnOn(staffID: UUID, key: [UInt8], usedStep: Int64?, sealer: Sealer, auditKey: AuditKey, now: Date, clientAddress: String,
                       on db: any Database) async throws -> [String]? {
        let sealed = try sealer.seal(key, context: SealedData.twoStepKeyContext(staffID))
        let codes = RecoveryCodes.generate()
        return try await db.transaction { tx -> [String]? in
            guard try await AccountsTable.setTwoStepKey(staffID: staffID, sealed: sealed, usedStep: usedStep, now: now, on: tx)
            else { return nil }
            try await replaceRecoveryCodes(staffID: staffID, with: codes, now: now, on: tx)
            try await Audit.record(.twoStepEnabled, actor: .staff(staffID), subject: "", clientAddress: clientAddress, at: now,
                                   key: auditKey, on: tx)
            return codes
        }
    }

    /// Stores the hashes of `codes` in place of every earlier recovery code.
    static func replaceRecoveryCodes(staffID: UUID, with codes: [String], now: Date, on db: any Database) async throws {
        try await RecoveryCodesTable.replace(staffID: staffID, with: codes.map { RecoveryCodes.hash($0)! }, now: now, on: db)
    }

    /// The code a demo account's app would show now that will still be accepted (the current
    /// step's, or the next one's once the current has been used): for the development mailbox.
    static func usableCode(key sealed: String, lastStep: Int64?, staffID: UUID, sealer: Sealer, now: Date) throws -> String? {
        let step = max(TOTP.step(at: now), (lastStep ?? Int64.min) + 1)
        guard step <= TOTP.step(at: now) + TOTP.drift else { return nil }
        return TOTP.code(key: try sealer.open(sealed, context: SealedData.twoStepKeyContext(staffID)), step: step)
    }
}
