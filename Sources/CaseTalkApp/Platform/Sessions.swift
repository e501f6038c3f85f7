import CaseTalkCore
import Fluent
import Foundation
import Vapor

/// The session of the current request, as loaded by `SessionMiddleware`.
struct CurrentSession: Sendable {
    let idHash: String
    let principal: Principal?
    let csrfToken: String
    var registrationTokenHash: String?
    var signInEmail: String?
    var passwordResetTokenHash: String?
    /// A sign-in whose password was right and that still owes its second step (SPEC §5, §9).
    /// The session names nobody (`principal` is nil) until that step is done.
    var pending: PendingSignIn? = nil
    /// The signed-in staff user or patient as the pages show them, read with the session; nil
    /// for a visitor, and for a session started during this request.
    var person: SignedInPerson? = nil
}

enum SignedInPerson: Sendable {
    case staff(SignedInStaff)
    case patient(SignedInPatient)
}

/// Loads the server-side session named by the cookie, ends it when it is idle or too old, and
/// writes the cookie back when a handler started or ended a session.
struct SessionMiddleware: AsyncMiddleware {
    func respond(to req: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let cookies = req.caseTalk.cookies
        if let token = req.cookies[cookies.session]?.string {
            if let session = try await Self.load(token: token, req: req) {
                req.storage[CurrentSessionKey.self] = session
            } else {
                req.storage[PendingCookieKey.self] = .clear
            }
        }
        let response = try await next.respond(to: req)
        switch req.storage[PendingCookieKey.self] {
        case .set(let token)?: response.cookies[cookies.session] = cookies.value(token)
        case .clear?: response.cookies[cookies.session] = cookies.cleared()
        case nil: break
        }
        if let visitor = req.newVisitorCookie, req.session == nil { response.cookies[cookies.visitor] = cookies.value(visitor) }
        return response
    }

    private static func load(token: String, req: Request) async throws -> CurrentSession? {
        // A real id is 43 characters of base64url; anything else is not worth a query.
        guard token.utf8.count == 43 else { return nil }
        let idHash = Digest.sha256Hex(token)
        // Every request runs this: one statement, with the signed-in person joined in.
        guard let row = try await SessionsTable.load(idHash: idHash, on: req.db) else { return nil }
        let now = req.now
        if SessionLifetime.isExpired(createdAt: row.createdAt, lastSeenAt: row.lastSeenAt, now: now) {
            try await SessionsTable.delete(idHash: idHash, on: req.db)
            return nil
        }
        if now.timeIntervalSince(row.lastSeenAt) >= SessionLifetime.touchInterval {
            try await SessionsTable.touch(idHash: idHash, at: now, on: req.db)
        }
        let principal = Principal(kind: row.principalKind, id: row.principalId)
        var person: SignedInPerson?
        switch principal {
        case .staff(let id)?:
            if let name = row.staffName, let practiceID = row.staffPracticeId, let practiceName = row.practiceName {
                person = .staff(SignedInStaff(id: id, practiceID: practiceID, name: name, practiceName: practiceName,
                                              isAdmin: row.staffIsAdmin ?? false,
                                              zone: ShownZone(stored: row.practiceTimeZone ?? ShownZone.defaultIdentifier)))
            }
        case .patient(let id)?:
            person = row.patientName.map { .patient(SignedInPatient(id: id, name: $0)) }
        case nil:
            person = nil
        }
        var pending: PendingSignIn?
        if let account = Principal(kind: row.pendingKind, id: row.pendingId),
           let factor = row.pendingFactor.flatMap(SecondFactor.init(rawValue:)),
           let since = row.pendingAt, now.timeIntervalSince(since) < PendingSignIn.lifetime {
            pending = PendingSignIn(account: account, factor: factor, sealedKey: row.pendingKey)
        }
        return CurrentSession(idHash: idHash, principal: principal, csrfToken: row.csrfToken,
                              registrationTokenHash: row.registrationTokenHash, signInEmail: row.signInEmail,
                              passwordResetTokenHash: row.passwordResetTokenHash, pending: pending, person: person)
    }
}

enum SessionHousekeeping {
    /// Ends every session of `principal` (after a password change: SPEC §4).
    static func endAll(of principal: Principal, on db: any Database) async throws {
        try await SessionsTable.deleteAll(of: principal, on: db)
    }

    /// Deletes sessions past their idle or absolute limit (visitors who opened the sign-in page
    /// and left, people who never signed out). Run by the background worker every minute.
    static func sweepExpired(on db: any Database, now: Date) async throws {
        try await SessionsTable.deleteExpired(idleSince: now.addingTimeInterval(-SessionLifetime.idleTimeout),
                                              startedBefore: now.addingTimeInterval(-SessionLifetime.absoluteTimeout), on: db)
    }
}

/// The second step a sign-in still owes.
enum SecondFactor: String, Sendable {
    /// A code from the staff member's authenticator app (or a recovery code).
    case totp
    /// A staff account without two-step verification: set it up before anything else.
    case totpSetup = "totp-setup"
    /// A patient on a browser not seen before: a code to the verified phone.
    case phoneCode = "phone-code"
}

/// A sign-in halfway: whose password was right, and what it still owes.
struct PendingSignIn: Sendable {
    /// The second step must follow within 10 minutes of the password.
    static let lifetime: TimeInterval = 10 * 60
    let account: Principal
    let factor: SecondFactor
    /// The TOTP key being set up, sealed (`totpSetup` only).
    var sealedKey: String? = nil
}

/// A new session's cookie value, drawn before the session is made when something must name the
/// session it will be (its row id, `idHash`).
struct SessionToken: Sendable {
    let value = SecureRandom.token()
    var idHash: String { Digest.sha256Hex(value) }
}

private struct CurrentSessionKey: StorageKey { typealias Value = CurrentSession }
private enum PendingCookie { case set(String), clear }
private struct PendingCookieKey: StorageKey { typealias Value = PendingCookie }

extension Request {
    var session: CurrentSession? { storage[CurrentSessionKey.self] }

    /// The current session, or a new anonymous one, for what must be remembered between pages (an
    /// invitation or reset link moved off the URL, the address for the sign-in page).
    func ensureSession() async throws -> CurrentSession {
        if let session { return session }
        return try await replaceSession(with: nil)
    }

    /// Ends the current session and starts a new one for `principal`, with a new id and a new CSRF
    /// token (SPEC §5: a new session id at sign-in and at every step-up). Nothing carries over
    /// unless passed: a registration or password reset in progress, or the email for the sign-in page.
    /// `token` is the new cookie value when the caller drew it first (`SessionToken`), to bind a
    /// verified code to the session it will be.
    @discardableResult
    func replaceSession(with principal: Principal?, registrationTokenHash: String? = nil,
                        signInEmail: String? = nil, passwordResetTokenHash: String? = nil, pending: PendingSignIn? = nil,
                        token: SessionToken = SessionToken()) async throws -> CurrentSession {
        let now = self.now
        let token = token.value
        let record = SessionRecord(idHash: Digest.sha256Hex(token), principal: principal,
                                   csrfToken: SecureRandom.token(), now: now)
        record.registrationTokenHash = registrationTokenHash
        record.signInEmail = signInEmail
        record.passwordResetTokenHash = passwordResetTokenHash
        if let pending {
            record.pendingKind = pending.account.kind
            record.pendingID = pending.account.id
            record.pendingFactor = pending.factor.rawValue
            record.pendingKey = pending.sealedKey
            record.pendingAt = now
        }
        try await db.transaction { tx in
            if let old = self.session {
                try await SessionsTable.delete(idHash: old.idHash, on: tx)
            }
            try await record.create(on: tx)
        }
        let session = CurrentSession(idHash: record.id!, principal: principal, csrfToken: record.csrfToken,
                                     registrationTokenHash: registrationTokenHash, signInEmail: signInEmail,
                                     passwordResetTokenHash: passwordResetTokenHash, pending: pending)
        storage[CurrentSessionKey.self] = session
        storage[PendingCookieKey.self] = .set(token)
        return session
    }

    /// Keeps the hash of an invitation link in the session, so the next pages need no token in the URL.
    func rememberRegistration(tokenHash: String) async throws {
        try await remember(\.registrationTokenHash, \.$registrationTokenHash, tokenHash)
    }

    /// Remembers the address to fill in on the sign-in page.
    func rememberSignInEmail(_ email: String) async throws {
        try await remember(\.signInEmail, \.$signInEmail, email)
    }

    /// Keeps the hash of a password reset link in the session, off the URL.
    func rememberPasswordReset(tokenHash: String) async throws {
        try await remember(\.passwordResetTokenHash, \.$passwordResetTokenHash, tokenHash)
    }

    /// Keeps the sealed TOTP key being set up in the half-done sign-in, so the page shows the same
    /// key until the code from it is entered.
    func rememberPendingKey(_ sealed: String) async throws {
        guard var session, var pending = session.pending else { return }
        try await SessionRecord.query(on: db).filter(\.$id == session.idHash).set(\.$pendingKey, to: sealed).update()
        pending.sealedKey = sealed
        session.pending = pending
        storage[CurrentSessionKey.self] = session
    }

    /// Sets one optional field of the current session (made if there is none), in the row and here.
    private func remember(_ field: WritableKeyPath<CurrentSession, String?>,
                          _ column: KeyPath<SessionRecord, OptionalFieldProperty<SessionRecord, String>>,
                          _ value: String) async throws {
        var session = try await ensureSession()
        guard session[keyPath: field] != value else { return }
        try await SessionRecord.query(on: db).filter(\.$id == session.idHash).set(column, to: value).update()
        session[keyPath: field] = value
        storage[CurrentSessionKey.self] = session
    }

    /// Sign-out: the session ends on the server and the cookie is cleared.
    func endSession() async throws {
        if let session {
            try await SessionsTable.delete(idHash: session.idHash, on: db)
        }
        storage[CurrentSessionKey.self] = nil
        storage[PendingCookieKey.self] = .clear
    }
}
