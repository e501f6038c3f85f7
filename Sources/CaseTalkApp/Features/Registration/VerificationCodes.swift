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

    /// The row that holds a code's state: a registration (keyed by its invitation), a password
    /// reset, or a patient's sign-in from a new browser. The tables have the same code columns.
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

        static func signIn(_ patientID: UUID) -> Holder {
            Holder(table: "sign_in_codes", keyColumn: "patient_id", id: patientID, subject: "sign-in:\(patientID)",
                   scope: "sign-in:\(patientID)", actor: .patient(patientID),
                   actions: .init(sent: .signInCodeSent, sendFailed: .signInCodeSendFailed, verified: .signInCodeVerified,
                                  rejected: .signInCodeRejected, locked: .signInCodeLocked))
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
        /// The session (its row id) a right code binds the later steps to (SPEC §3: they belong to
        /// the browser that verified). Nil only where nothing follows the code.
        var binding: String? = nil
        /// Runs in the transaction that accepts the code (a registration marks its invitation).
        var onVerified: @Sendable (any Database) async throws -> Void = { _ in }

        var hasher: CodeHasher { services.codeHasher }

        /// A registration's code: verifying it marks the invitation *code verified* and binds the
        /// later steps to `binding`; a Terms acceptance made in another session no longer counts.
        static func registration(invitationID: UUID, services: CaseTalkServices, now: Date, clientAddress: String,
                                 db: any Database, binding: String? = nil) -> Context {
            Context(holder: .registration(invitationID), services: services, now: now, clientAddress: clientAddress, db: db,
                    binding: binding) { tx in
                try await Invitation.query(on: tx).filter(\.$id == invitationID)
                    .filter(\.$status ~~ [.sent, .opened])
                    .set(\.$status, to: .codeVerified).set(\.$codeVerifiedAt, to: now).update()
                try await tx.sql.raw("""
                    UPDATE registrations SET terms_version = NULL, terms_accepted_at = NULL, terms_client_address = NULL,
                      terms_user_agent = NULL
                    WHERE invitation_id = \(bind: invitationID)
                    """).run()
            }
        }

        func audit(_ action: AuditAction, _ detail: String = "", on db: (any Database)? = nil) async throws {
            try await Audit.record(action, actor: holder.actor, subject: detail.isEmpty ? holder.subject : "\(holder.subject) \(detail)",
                                   clientAddress: clientAddress, at: now, key: services.auditKey, on: db ?? self.db)
        }

        /// The holder's code columns; nil when its row is gone.
        func state(on db: (any Database)? = nil) async throws -> State? {
            try await (db ?? self.db).sql.select()
                .columns("code_hmac", "code_expires_at", "code_tries", "locked_until", "last_sent_at")
                .from(holder.table).where(SQLIdentifier(holder.keyColumn), .equal, SQLBind(holder.id))
                .first(decoding: State.self)
        }
    }

    /// Sends a new code. Each limit is claimed by one conditional statement before the provider
    /// is called, so parallel sends cannot pass it: the holder's 30-second window (with its lock),
    /// then the number's five sends per ten minutes. A refusal or a provider failure gives back
    /// what was claimed.
    static func send(to number: PhoneNumber, by channel: CodeChannel, _ context: Context) async throws -> SendOutcome {
        let now = context.now
        let holder = context.holder
        let sql = context.db.sql
        let claimed = try await sql.raw("""
            UPDATE \(ident: holder.table) SET last_sent_at = \(bind: now)
            WHERE \(ident: holder.keyColumn) = \(bind: holder.id)
              AND (last_sent_at IS NULL OR last_sent_at <= \(bind: now.addingTimeInterval(-CodeLimits.resendInterval)))
              AND (locked_until IS NULL OR locked_until <= \(bind: now))
            RETURNING \(ident: holder.keyColumn)
            """).all()
        if claimed.isEmpty {
            guard let state = try await context.state() else { throw Abort(.notFound) }
            if let until = state.locked_until, until > now { return .locked(until: until) }
            return .wait(seconds: max(1, CodeLimits.secondsUntilNextSend(lastSentAt: state.last_sent_at, now: now)))
        }
        // Giving the window back leaves no countdown: the one before had run out (the claim's condition).
        let giveBackWindow: @Sendable () async throws -> Void = {
            try await sql.raw("""
                UPDATE \(ident: holder.table) SET last_sent_at = NULL
                WHERE \(ident: holder.keyColumn) = \(bind: holder.id) AND last_sent_at = \(bind: now)
                """).run()
        }
        if let retryAfter = try await PhoneSendWindows.claim(number.e164, now: now, on: sql) {
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
            try await PhoneSendWindows.giveBack(number.e164, claimedAt: now, on: sql)
            try await giveBackWindow()
            try await context.audit(actions.sendFailed, detail)
            return .providerFailed
        }
        try await context.db.transaction { tx in
            try await tx.sql.raw("""
                UPDATE \(ident: holder.table)
                SET code_hmac = \(bind: context.hasher.hash(code, scope: holder.scope)), code_number = \(bind: number.e164),
                    code_channel = \(bind: channel.rawValue), code_expires_at = \(bind: now.addingTimeInterval(CodeLimits.lifetime)),
                    code_tries = 0
                WHERE \(ident: holder.keyColumn) = \(bind: holder.id)
                """).run()
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
        let lock = CodeLimits.wrongInARowBeforeLock
        // The lock's length by the locks before it, as SQL: 15 minutes doubling, capped.
        let lengths = (0..<CodeLimits.maxLockDoublings).map { locks -> SQLQueryString in
            "WHEN \(literal: locks) THEN \(bind: now.addingTimeInterval(CodeLimits.lockDuration(previousLocks: locks)))"
        }
        let lockUntil: SQLQueryString = """
            CASE lock_count \(lengths.joined(separator: " ")) \
            ELSE \(bind: now.addingTimeInterval(CodeLimits.lockDuration(previousLocks: CodeLimits.maxLockDoublings))) END
            """
        let matches: SQLQueryString = "code_hmac = \(bind: hash)"
        let locks: SQLQueryString = "(code_hmac <> \(bind: hash) AND wrong_streak + 1 >= \(literal: lock))"
        struct Row: Decodable { let code_hmac: String?; let code_tries: Int; let locked_until: Date? }
        let outcome = try await context.db.transaction { tx -> CheckOutcome? in
            // Every SET reads the row as it was before this statement, on both engines.
            guard let row = try await tx.sql.raw("""
                UPDATE \(ident: holder.table) SET
                  verified_at = CASE WHEN \(matches) THEN \(bind: now) ELSE verified_at END,
                  verified_session = CASE WHEN \(matches) THEN \(bind: context.binding) ELSE verified_session END,
                  code_tries = CASE WHEN \(matches) THEN code_tries ELSE code_tries + 1 END,
                  wrong_streak = CASE WHEN \(matches) OR \(locks) THEN 0 ELSE wrong_streak + 1 END,
                  locked_until = CASE WHEN \(locks) THEN \(lockUntil) ELSE locked_until END,
                  lock_count = CASE WHEN \(locks) THEN lock_count + 1 ELSE lock_count END,
                  code_hmac = CASE WHEN \(matches) OR \(locks) THEN NULL ELSE code_hmac END
                WHERE \(ident: holder.keyColumn) = \(bind: holder.id)
                  AND code_hmac IS NOT NULL AND code_expires_at > \(bind: now)
                  AND code_tries < \(literal: CodeLimits.triesPerCode)
                  AND (locked_until IS NULL OR locked_until <= \(bind: now))
                RETURNING code_hmac, code_tries, locked_until
                """).first(decoding: Row.self) else { return nil }
            if let until = row.locked_until, until > now {
                try await context.audit(holder.actions.locked, on: tx)
                return .locked(until: until)
            }
            if row.code_hmac == nil {
                try await context.onVerified(tx)
                try await context.audit(holder.actions.verified, on: tx)
                return .verified
            }
            try await context.audit(holder.actions.rejected, on: tx)
            return .wrong(codeStillLive: row.code_tries < CodeLimits.triesPerCode)
        }
        if let outcome { return outcome }
        // Nothing to check against; the state only says why.
        if let until = try await context.state()?.locked_until, until > now { return .locked(until: until) }
        return .noLiveCode
    }
}

/// The limit of SPEC §3 of five code sends per number per ten minutes, as one row per number
/// holding its last five send times (newest first): a send is claimed by one conditional upsert
/// that shifts the times along only when the fifth newest has left the window.
enum PhoneSendWindows {
    /// Claims a send to `number` at `now`; nil when claimed, else the seconds until one can be.
    static func claim(_ number: String, now: Date, on sql: any SQLDatabase) async throws -> Int? {
        let windowStart = now.addingTimeInterval(-CodeLimits.sendWindow)
        let claimed = try await sql.raw("""
            INSERT INTO phone_code_windows (number, sent_1) VALUES (\(bind: number), \(bind: now))
            ON CONFLICT (number) DO UPDATE SET
              sent_1 = excluded.sent_1, sent_2 = phone_code_windows.sent_1, sent_3 = phone_code_windows.sent_2,
              sent_4 = phone_code_windows.sent_3, sent_5 = phone_code_windows.sent_4, dropped = phone_code_windows.sent_5
            WHERE phone_code_windows.sent_5 IS NULL OR phone_code_windows.sent_5 <= \(bind: windowStart)
            RETURNING number
            """).all()
        guard claimed.isEmpty else { return nil }
        struct Row: Decodable { let sent_5: Date? }
        let oldest = try await sql.raw("SELECT sent_5 FROM phone_code_windows WHERE number = \(bind: number)")
            .first(decoding: Row.self)?.sent_5 ?? now
        return max(1, Int((CodeLimits.sendWindow - now.timeIntervalSince(oldest)).rounded(.up)))
    }

    /// Undoes the claim made at `claimedAt` (the provider failed): the times shift back.
    static func giveBack(_ number: String, claimedAt: Date, on sql: any SQLDatabase) async throws {
        try await sql.raw("""
            UPDATE phone_code_windows SET sent_1 = sent_2, sent_2 = sent_3, sent_3 = sent_4, sent_4 = sent_5, sent_5 = dropped,
              dropped = NULL
            WHERE number = \(bind: number) AND sent_1 = \(bind: claimedAt)
            """).run()
    }

    /// How many sends to `number` are inside the window at `now` (the table's own read, kept
    /// here with its other statements; the tests count sends with it).
    static func recentSends(_ number: String, now: Date, on sql: any SQLDatabase) async throws -> Int {
        struct Row: Decodable { let sent_1: Date?; let sent_2: Date?; let sent_3: Date?; let sent_4: Date?; let sent_5: Date? }
        guard let row = try await sql.raw("""
            SELECT sent_1, sent_2, sent_3, sent_4, sent_5 FROM phone_code_windows WHERE number = \(bind: number)
            """).first(decoding: Row.self) else { return 0 }
        let start = now.addingTimeInterval(-CodeLimits.sendWindow)
        return [row.sent_1, row.sent_2, row.sent_3, row.sent_4, row.sent_5].compactMap { $0 }.filter { $0 > start }.count
    }
}
