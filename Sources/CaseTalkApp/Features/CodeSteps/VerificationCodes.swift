import CaseTalkCore
import Fluent
import Foundation
import Vapor

/// Sending and checking a secret code (a registration's, SPEC §3, or a password reset's, §4), with
/// every limit of SPEC §3 enforced in the database (so they hold across servers): 30 s between
/// sends, 5 sends per number per 10 minutes, a 10-minute single-use code that dies after 5 wrong tries, and a lock after 10
/// wrong codes in a row (15 minutes, doubling). Resending or changing the method never resets
/// the count; a provider failure is not counted.
enum VerificationCodes {
    enum SendOutcome: Equatable, Sendable {
        case sent
        case wait(seconds: Int)
        /// 5 sends to this number in the last 10 minutes; the next is possible in `retryAfter` seconds.
        case tooManyForNumber(retryAfter: Int)
        case locked(until: Date)
        case providerFailed
    }

    enum CheckOutcome: Equatable, Sendable {
        case verified
        /// Wrong; `codeStillLive` is false once the code has had its 5 tries.
        case wrong(codeStillLive: Bool)
        case malformed
        /// No code to check against (none sent, expired, used or dead): send a new one.
        case noLiveCode
        case locked(until: Date)
    }

    /// The row that holds a code's state: a registration (keyed by its invitation), a password
    /// reset, or a patient's sign-in from a new browser. The tables have the same code columns.
    struct Holder: Sendable {
        let table: CodeHolderTable
        let id: UUID
        /// "invitation:<id>" or "password-reset:<id>", for the audit trail.
        let subject: String
        /// What the code's HMAC is bound to.
        let scope: String
        let actor: AuditActor
        let actions: Actions

        struct Actions: Sendable {
            let sent, sendFailed, verified, rejected, locked: AuditAction
        }

        static func registration(_ invitationID: UUID) -> Holder {
            Holder(table: .registrations, id: invitationID,
                   subject: "invitation:\(invitationID)", scope: invitationID.uuidString, actor: .anonymous,
                   actions: .init(sent: .codeSent, sendFailed: .codeSendFailed, verified: .codeVerified,
                                  rejected: .codeRejected, locked: .verificationLocked))
        }

        static func signIn(_ patientID: UUID) -> Holder {
            Holder(table: .signInCodes, id: patientID, subject: "sign-in:\(patientID)",
                   scope: "sign-in:\(patientID)", actor: .patient(patientID),
                   actions: .init(sent: .signInCodeSent, sendFailed: .signInCodeSendFailed, verified: .signInCodeVerified,
                                  rejected: .signInCodeRejected, locked: .signInCodeLocked))
        }

        static func passwordReset(_ resetID: UUID, patientID: UUID) -> Holder {
            Holder(table: .passwordResets, id: resetID, subject: "password-reset:\(resetID)",
                   scope: "password-reset:\(resetID)", actor: .patient(patientID),
                   actions: .init(sent: .resetCodeSent, sendFailed: .resetCodeSendFailed, verified: .resetCodeVerified,
                                  rejected: .resetCodeRejected, locked: .resetLocked))
        }
    }

    struct Context: Sendable {
        let holder: Holder
        let use: UseCaseContext
        /// The session (its row id) a right code binds the later steps to (SPEC §3: they belong to
        /// the browser that verified). Nil only where nothing follows the code.
        var binding: String? = nil
        /// Runs in the transaction that accepts the code (a registration marks its invitation).
        var onVerified: @Sendable (any Database) async throws -> Void = { _ in }

        var hasher: CodeHasher { services.codeHasher }
        var services: CaseTalkServices { use.services }
        var now: Date { use.now }
        var clientAddress: String { use.clientAddress }
        var db: any Database { use.db }

        init(holder: Holder, use: UseCaseContext, binding: String? = nil,
             onVerified: @escaping @Sendable (any Database) async throws -> Void = { _ in }) {
            self.holder = holder; self.use = use; self.binding = binding; self.onVerified = onVerified
        }

        /// A registration's code: verifying it marks the invitation *code verified* and binds the
        /// later steps to `binding`; a Terms acceptance made in another session no longer counts.
        static func registration(invitationID: UUID, use: UseCaseContext, binding: String? = nil) -> Context {
            let now = use.now
            return Context(holder: .registration(invitationID), use: use, binding: binding) { tx in
                try await Invitation.query(on: tx).filter(\.$id == invitationID)
                    .filter(\.$status ~~ [.sent, .opened])
                    .set(\.$status, to: .codeVerified).set(\.$codeVerifiedAt, to: now).update()
                try await RegistrationsTable.forgetTerms(invitationID: invitationID, on: tx)
            }
        }

        func audit(_ action: AuditAction, _ detail: String = "", on db: (any Database)? = nil) async throws {
            try await Audit.record(action, actor: holder.actor, subject: detail.isEmpty ? holder.subject : "\(holder.subject) \(detail)",
                                   clientAddress: clientAddress, at: now, key: services.auditKey, on: db ?? self.db)
        }

        /// The holder's code columns; nil when its row is gone.
        func state(on db: (any Database)? = nil) async throws -> CodeHoldersTable.State? {
            try await CodeHoldersTable.state(of: holder.table, id: holder.id, on: db ?? self.db)
        }
    }

    /// Sends a new code. Each limit is claimed by one conditional statement before the provider
    /// is called, so parallel sends cannot pass it: the holder's 30-second window (with its lock),
    /// then the number's five sends per ten minutes. A refusal or a provider failure gives back
    /// what was claimed.
    static func send(to number: PhoneNumber, by channel: CodeChannel, _ context: Context) async throws -> SendOutcome {
        let now = context.now
        let holder = context.holder
        let db = context.db
        let claimed = try await CodeHoldersTable.claimSend(of: holder.table, id: holder.id, now: now,
                                                           lastSendBy: now.addingTimeInterval(-CodeLimits.resendInterval), on: db)
        if !claimed {
            guard let state = try await context.state() else { throw Abort(.notFound) }
            if let until = state.lockedUntil, until > now { return .locked(until: until) }
            return .wait(seconds: max(1, CodeLimits.secondsUntilNextSend(lastSentAt: state.lastSentAt, now: now)))
        }
        // Giving the window back leaves no countdown: the one before had run out (the claim's condition).
        let giveBackWindow: @Sendable () async throws -> Void = {
            try await CodeHoldersTable.giveBackSend(of: holder.table, id: holder.id, claimedAt: now, on: db)
        }
        if let retryAfter = try await PhoneSendWindows.claim(number.e164, now: now, on: db) {
            try await giveBackWindow()
            return .tooManyForNumber(retryAfter: retryAfter)
        }

        let code = VerificationCode.generate()
        let detail = "channel:\(channel.rawValue) number:\(number.masked)"
        let actions = holder.actions
        do {
            try await context.services.phones.send(code: code, to: number, by: channel)
        } catch {
            // Not the patient's fault: nothing is counted and the old code (if any) still works.
            try await PhoneSendWindows.giveBack(number.e164, claimedAt: now, on: db)
            try await giveBackWindow()
            try await context.audit(actions.sendFailed, detail)
            return .providerFailed
        }
        try await context.db.transaction { tx in
            try await CodeHoldersTable.storeCode(of: holder.table, id: holder.id, hmac: context.hasher.hash(code, scope: holder.scope),
                                                 number: number.e164, channel: channel.rawValue,
                                                 expiresAt: now.addingTimeInterval(CodeLimits.lifetime), on: tx)
            try await context.audit(actions.sent, detail, on: tx)
        }
        return .sent
    }

    /// Checks a code in one statement that both counts and matches, so parallel guesses each
    /// meet the live code's count as the one before left it: a right code clears it and records
    /// the session it binds (`Context.binding`); a wrong one adds a try and a wrong code in a
    /// row, and the tenth in a row locks (15 minutes, doubling) and kills the code.
    static func check(_ code: String, _ context: Context) async throws -> CheckOutcome {
        let code = code.trimmingCharacters(in: .whitespaces)
        guard VerificationCode.isWellFormed(code) else { return .malformed }
        let now = context.now
        let holder = context.holder
        let hash = context.hasher.hash(code, scope: holder.scope)
        // When a lock ends, by the locks before it: 15 minutes, doubling, capped.
        let lockEnds = (0...CodeLimits.maxLockDoublings).map { now.addingTimeInterval(CodeLimits.lockDuration(previousLocks: $0)) }
        let outcome = try await context.db.transaction { tx -> CheckOutcome? in
            guard let row = try await CodeHoldersTable.check(of: holder.table, id: holder.id, hmac: hash, now: now,
                                                             binding: context.binding, lockEnds: lockEnds, on: tx) else { return nil }
            if let until = row.lockedUntil, until > now {
                try await context.audit(holder.actions.locked, on: tx)
                return .locked(until: until)
            }
            if row.codeHmac == nil {
                try await context.onVerified(tx)
                try await context.audit(holder.actions.verified, on: tx)
                return .verified
            }
            try await context.audit(holder.actions.rejected, on: tx)
            return .wrong(codeStillLive: row.codeTries < CodeLimits.triesPerCode)
        }
        if let outcome { return outcome }
        // Nothing to check against; the state only says why.
        if let until = try await context.state()?.lockedUntil, until > now { return .locked(until: until) }
        return .noLiveCode
    }
}

/// The limit of SPEC §3 of five code sends per number per ten minutes, as one row per number
/// holding its last five send times (newest first): a send is claimed by one conditional upsert
/// that shifts the times along only when the fifth newest has left the window.
enum PhoneSendWindows {
    /// Claims a send to `number` at `now`; nil when claimed, else the seconds until one can be.
    static func claim(_ number: String, now: Date, on db: any Database) async throws -> Int? {
        guard try await !PhoneCodeWindowsTable.claim(number, now: now, windowStart: now.addingTimeInterval(-CodeLimits.sendWindow), on: db)
        else { return nil }
        let oldest = try await PhoneCodeWindowsTable.sends(number, on: db)?.sentFifth ?? now
        return max(1, Int((CodeLimits.sendWindow - now.timeIntervalSince(oldest)).rounded(.up)))
    }

    /// Undoes the claim made at `claimedAt` (the provider failed): the times shift back.
    static func giveBack(_ number: String, claimedAt: Date, on db: any Database) async throws {
        try await PhoneCodeWindowsTable.giveBack(number, claimedAt: claimedAt, on: db)
    }

    /// How many sends to `number` are inside the window at `now` (the tests count sends with it).
    static func recentSends(_ number: String, now: Date, on db: any Database) async throws -> Int {
        let start = now.addingTimeInterval(-CodeLimits.sendWindow)
        return try await PhoneCodeWindowsTable.sends(number, on: db)?.all.filter { $0 > start }.count ?? 0
    }
}
