import CaseTalkCore
import Fluent
import Foundation
import SQLKit
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

    /// The row that holds a code's state: a registration (keyed by its invitation) or a password
    /// reset. Both tables have the same code columns.
    struct Holder: Sendable {
        let table: String
        let keyColumn: String
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
            Holder(table: Registration.schema, keyColumn: "invitation_id", id: invitationID,
                   subject: "invitation:\(invitationID)", scope: invitationID.uuidString, actor: .anonymous,
                   actions: .init(sent: .codeSent, sendFailed: .codeSendFailed, verified: .codeVerified,
                                  rejected: .codeRejected, locked: .verificationLocked))
        }

        static func passwordReset(_ resetID: UUID, patientID: UUID) -> Holder {
            Holder(table: PasswordReset.schema, keyColumn: "id", id: resetID, subject: "password-reset:\(resetID)",
                   scope: "password-reset:\(resetID)", actor: .patient(patientID),
                   actions: .init(sent: .resetCodeSent, sendFailed: .resetCodeSendFailed, verified: .resetCodeVerified,
                                  rejected: .resetCodeRejected, locked: .resetLocked))
        }
    }

    /// The code columns of a holder's row.
    struct State: Decodable, Sendable {
        let code_hmac: String?
        let code_expires_at: Date?
        let code_tries: Int
        let locked_until: Date?
        let last_sent_at: Date?
    }

    struct Context: Sendable {
        let holder: Holder
        let services: CaseTalkServices
        let now: Date
        let clientAddress: String
        let db: any Database
        /// Runs in the transaction that accepts the code (a registration marks its invitation).
        var onVerified: @Sendable (any Database) async throws -> Void = { _ in }

        var hasher: CodeHasher { services.codeHasher }

        /// A registration's code: verifying it marks the invitation *code verified*.
        static func registration(invitationID: UUID, services: CaseTalkServices, now: Date, clientAddress: String,
                                 db: any Database) -> Context {
            Context(holder: .registration(invitationID), services: services, now: now, clientAddress: clientAddress, db: db) { tx in
                try await Invitation.query(on: tx).filter(\.$id == invitationID)
                    .filter(\.$status ~~ [.sent, .opened])
                    .set(\.$status, to: .codeVerified).set(\.$codeVerifiedAt, to: now).update()
            }
        }

        func audit(_ action: AuditAction, _ detail: String = "", on db: (any Database)? = nil) async throws {
            try await Audit.record(action, actor: holder.actor, subject: detail.isEmpty ? holder.subject : "\(holder.subject) \(detail)",
                                   clientAddress: clientAddress, at: now, on: db ?? self.db)
        }

        /// The holder's code columns; nil when its row is gone.
        func state(on db: (any Database)? = nil) async throws -> State? {
            try await (db ?? self.db).sql.select()
                .columns("code_hmac", "code_expires_at", "code_tries", "locked_until", "last_sent_at")
                .from(holder.table).where(SQLIdentifier(holder.keyColumn), .equal, SQLBind(holder.id))
                .first(decoding: State.self)
        }
    }

    static func send(to number: PhoneNumber, by channel: CodeChannel, _ context: Context) async throws -> SendOutcome {
        guard let state = try await context.state() else { throw Abort(.notFound) }
        let now = context.now
        if let until = state.locked_until, until > now { return .locked(until: until) }
        let wait = CodeLimits.secondsUntilNextSend(lastSentAt: state.last_sent_at, now: now)
        if wait > 0 { return .wait(seconds: wait) }
        let recent = try await CodeSend.query(on: context.db).filter(\.$number == number.e164)
            .filter(\.$sentAt > now.addingTimeInterval(-CodeLimits.sendWindow))
            .sort(\.$sentAt, .descending).limit(CodeLimits.sendsPerNumber).all()
        if recent.count >= CodeLimits.sendsPerNumber, let oldest = recent.last {
            let retry = CodeLimits.sendWindow - now.timeIntervalSince(oldest.sentAt)
            return .tooManyForNumber(retryAfter: max(1, Int(retry.rounded(.up))))
        }

        let code = VerificationCode.generate()
        let detail = "channel:\(channel.rawValue) number:\(number.masked)"
        let actions = context.holder.actions
        do {
            try await context.services.phones.send(code: code, to: number, by: channel)
        } catch {
            // Not the patient's fault: nothing is counted and the old code (if any) still works.
            try await context.audit(actions.sendFailed, detail)
            return .providerFailed
        }
        try await context.db.transaction { tx in
            try await tx.sql.update(context.holder.table)
                .set("code_hmac", to: SQLBind(context.hasher.hash(code, scope: context.holder.scope)))
                .set("code_number", to: SQLBind(number.e164))
                .set("code_channel", to: SQLBind(channel.rawValue))
                .set("code_expires_at", to: SQLBind(now.addingTimeInterval(CodeLimits.lifetime)))
                .set("code_tries", to: SQLBind(0))
                .set("last_sent_at", to: SQLBind(now))
                .where(SQLIdentifier(context.holder.keyColumn), .equal, SQLBind(context.holder.id))
                .run()
            try await CodeSend(number: number.e164, sentAt: now).create(on: tx)
            try await context.audit(actions.sent, detail, on: tx)
        }
        return .sent
    }

    static func check(_ code: String, _ context: Context) async throws -> CheckOutcome {
        let code = code.trimmingCharacters(in: .whitespaces)
        guard VerificationCode.isWellFormed(code) else { return .malformed }
        let now = context.now
        let holder = context.holder
        let key = SQLIdentifier(holder.keyColumn)
        let id = SQLBind(holder.id)

        // The only statement that can succeed, and only once: it matches the live code and clears it.
        let matched = try await context.db.transaction { tx -> Bool in
            let rows = try await tx.sql.update(holder.table)
                .set("verified_at", to: SQLBind(now))
                .set("code_hmac", to: SQLLiteral.null)
                .set("wrong_streak", to: SQLBind(0))
                .where(key, .equal, id)
                .where("code_hmac", .equal, SQLBind(context.hasher.hash(code, scope: holder.scope)))
                .where("code_expires_at", .greaterThan, SQLBind(now))
                .where("code_tries", .lessThan, SQLBind(CodeLimits.triesPerCode))
                .where { $0.where("locked_until", .is, SQLLiteral.null).orWhere("locked_until", .lessThanOrEqual, SQLBind(now)) }
                .returning(key)
                .all()
            guard !rows.isEmpty else { return false }
            try await context.onVerified(tx)
            try await context.audit(holder.actions.verified, on: tx)
            return true
        }
        if matched { return .verified }

        guard let state = try await context.state() else { return .noLiveCode }
        if let until = state.locked_until, until > now { return .locked(until: until) }
        guard state.code_hmac != nil, let expires = state.code_expires_at, expires > now,
              state.code_tries < CodeLimits.triesPerCode else { return .noLiveCode }

        // A wrong code against a live one: counted in one statement, so parallel guesses all count.
        struct Counts: Decodable { let code_tries: Int; let wrong_streak: Int; let lock_count: Int }
        guard let counts = try await context.db.sql.update(holder.table)
            .set(SQLIdentifier("code_tries"), to: SQLBinaryExpression(SQLIdentifier("code_tries"), .add, SQLLiteral.numeric("1")))
            .set(SQLIdentifier("wrong_streak"), to: SQLBinaryExpression(SQLIdentifier("wrong_streak"), .add, SQLLiteral.numeric("1")))
            .where(key, .equal, id)
            .returning("code_tries", "wrong_streak", "lock_count")
            .first(decoding: Counts.self) else { return .noLiveCode }

        if counts.wrong_streak >= CodeLimits.wrongInARowBeforeLock {
            let until = now.addingTimeInterval(CodeLimits.lockDuration(previousLocks: counts.lock_count))
            try await context.db.transaction { tx in
                // Only the guess that reached the limit sets the lock (the streak condition), once.
                let locked = try await tx.sql.update(holder.table)
                    .set("locked_until", to: SQLBind(until))
                    .set(SQLIdentifier("lock_count"), to: SQLBinaryExpression(SQLIdentifier("lock_count"), .add, SQLLiteral.numeric("1")))
                    .set("wrong_streak", to: SQLBind(0))
                    .set("code_hmac", to: SQLLiteral.null)
                    .where(key, .equal, id)
                    .where("wrong_streak", .greaterThanOrEqual, SQLBind(CodeLimits.wrongInARowBeforeLock))
                    .returning(key)
                    .all()
                if !locked.isEmpty { try await context.audit(holder.actions.locked, on: tx) }
            }
            let current = try await context.state()
            return .locked(until: current?.locked_until ?? until)
        }
        try await context.audit(holder.actions.rejected)
        return .wrong(codeStillLive: counts.code_tries < CodeLimits.triesPerCode)
    }
}
