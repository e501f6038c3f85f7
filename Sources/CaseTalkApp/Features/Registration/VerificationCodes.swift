import CaseTalkCore
import Fluent
import Foundation
import SQLKit

/// Sending and checking the registration's secret code, with every limit of SPEC §3 enforced in
/// the database (so they hold across servers): 30 s between sends, 5 sends per number per
/// 10 minutes, a 10-minute single-use code that dies after 5 wrong tries, and a lock after 10
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

    struct Context: Sendable {
        let invitationID: UUID
        let services: CaseTalkServices
        let now: Date
        let clientAddress: String
        let db: any Database

        var hasher: CodeHasher { services.codeHasher }
        var subject: String { "invitation:\(invitationID)" }

        func audit(_ action: AuditAction, _ detail: String = "", on db: (any Database)? = nil) async throws {
            try await Audit.record(action, actor: .anonymous, subject: detail.isEmpty ? subject : "\(subject) \(detail)",
                                   clientAddress: clientAddress, at: now, on: db ?? self.db)
        }
    }

    static func send(to number: PhoneNumber, by channel: CodeChannel, _ context: Context) async throws -> SendOutcome {
        let registration = try await PatientRegistration.row(invitationID: context.invitationID, now: context.now, on: context.db)
        let now = context.now
        if let until = registration.lockedUntil, until > now { return .locked(until: until) }
        let wait = CodeLimits.secondsUntilNextSend(lastSentAt: registration.lastSentAt, now: now)
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
        do {
            try await context.services.phones.send(code: code, to: number, by: channel)
        } catch {
            // Not the patient's fault: nothing is counted and the old code (if any) still works.
            try await context.audit(.codeSendFailed, detail)
            return .providerFailed
        }
        try await context.db.transaction { tx in
            try await Registration.query(on: tx).filter(\.$id == context.invitationID)
                .set(\.$codeHMAC, to: context.hasher.hash(code, invitationID: context.invitationID.uuidString))
                .set(\.$codeNumber, to: number.e164)
                .set(\.$codeChannel, to: channel.rawValue)
                .set(\.$codeExpiresAt, to: now.addingTimeInterval(CodeLimits.lifetime))
                .set(\.$codeTries, to: 0)
                .set(\.$lastSentAt, to: now)
                .update()
            try await CodeSend(invitationID: context.invitationID, number: number.e164, sentAt: now).create(on: tx)
            try await context.audit(.codeSent, detail, on: tx)
        }
        return .sent
    }

    static func check(_ code: String, _ context: Context) async throws -> CheckOutcome {
        let code = code.trimmingCharacters(in: .whitespaces)
        guard VerificationCode.isWellFormed(code) else { return .malformed }
        let now = context.now
        let id = SQLBind(context.invitationID)

        // The only statement that can succeed, and only once: it matches the live code and clears it.
        let matched = try await context.db.transaction { tx -> Bool in
            let rows = try await tx.sql.update(Registration.schema)
                .set("verified_at", to: SQLBind(now))
                .set("code_hmac", to: SQLLiteral.null)
                .set("wrong_streak", to: SQLBind(0))
                .where("invitation_id", .equal, id)
                .where("code_hmac", .equal, SQLBind(context.hasher.hash(code, invitationID: context.invitationID.uuidString)))
                .where("code_expires_at", .greaterThan, SQLBind(now))
                .where("code_tries", .lessThan, SQLBind(CodeLimits.triesPerCode))
                .where { $0.where("locked_until", .is, SQLLiteral.null).orWhere("locked_until", .lessThanOrEqual, SQLBind(now)) }
                .returning("invitation_id")
                .all()
            guard !rows.isEmpty else { return false }
            try await Invitation.query(on: tx).filter(\.$id == context.invitationID)
                .filter(\.$status ~~ [.sent, .opened])
                .set(\.$status, to: .codeVerified).set(\.$codeVerifiedAt, to: now).update()
            try await context.audit(.codeVerified, on: tx)
            return true
        }
        if matched { return .verified }

        guard let registration = try await Registration.find(context.invitationID, on: context.db) else { return .noLiveCode }
        if let until = registration.lockedUntil, until > now { return .locked(until: until) }
        guard registration.codeHMAC != nil, let expires = registration.codeExpiresAt, expires > now,
              registration.codeTries < CodeLimits.triesPerCode else { return .noLiveCode }

        // A wrong code against a live one: counted in one statement, so parallel guesses all count.
        struct Counts: Decodable { let code_tries: Int; let wrong_streak: Int; let lock_count: Int }
        guard let counts = try await context.db.sql.update(Registration.schema)
            .set(SQLIdentifier("code_tries"), to: SQLBinaryExpression(SQLIdentifier("code_tries"), .add, SQLLiteral.numeric("1")))
            .set(SQLIdentifier("wrong_streak"), to: SQLBinaryExpression(SQLIdentifier("wrong_streak"), .add, SQLLiteral.numeric("1")))
            .where("invitation_id", .equal, id)
            .returning("code_tries", "wrong_streak", "lock_count")
            .first(decoding: Counts.self) else { return .noLiveCode }

        if counts.wrong_streak >= CodeLimits.wrongInARowBeforeLock {
            let until = now.addingTimeInterval(CodeLimits.lockDuration(previousLocks: counts.lock_count))
            try await context.db.transaction { tx in
                // Only the guess that reached the limit sets the lock (the streak condition), once.
                let locked = try await tx.sql.update(Registration.schema)
                    .set("locked_until", to: SQLBind(until))
                    .set(SQLIdentifier("lock_count"), to: SQLBinaryExpression(SQLIdentifier("lock_count"), .add, SQLLiteral.numeric("1")))
                    .set("wrong_streak", to: SQLBind(0))
                    .set("code_hmac", to: SQLLiteral.null)
                    .where("invitation_id", .equal, id)
                    .where("wrong_streak", .greaterThanOrEqual, SQLBind(CodeLimits.wrongInARowBeforeLock))
                    .returning("invitation_id")
                    .all()
                if !locked.isEmpty { try await context.audit(.verificationLocked, on: tx) }
            }
            let current = try await Registration.find(context.invitationID, on: context.db)
            return .locked(until: current?.lockedUntil ?? until)
        }
        try await context.audit(.codeRejected)
        return .wrong(codeStillLive: counts.code_tries < CodeLimits.triesPerCode)
    }
}
