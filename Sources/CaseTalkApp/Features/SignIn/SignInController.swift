import CaseTalkCore
import Fluent
import SQLKit
import Vapor

/// `/login` and `/logout` (SPEC §2, §5).
struct SignInController: RouteCollection {
    static let failureMessage = "Email or password is incorrect"

    struct Page: Encodable {
        let chrome: PageChrome
        let email: String
        let next: String?
        let error: String?
    }

    struct Form: Content {
        var email: String?
        var password: String?
        var next: String?
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.get(use: home)
        routes.get("login", use: show)
        routes.post("login", use: signIn)
        routes.post("logout", use: signOut)
        routes.get("session", "alive", use: alive)
    }

    func home(req: Request) async throws -> Response {
        req.redirect(to: Self.home(of: req.session?.principal) ?? "/login")
    }

    /// Where each kind of person starts.
    static func home(of principal: Principal?) -> String? {
        switch principal {
        case .staff?: "/cases"
        case .patient?: "/portal"
        case nil: nil
        }
    }

    func show(req: Request) async throws -> Response {
        if let home = Self.home(of: req.session?.principal) { return req.redirect(to: home) }
        let session = try await req.ensureSession()
        let next = SafeRedirect.validate(req.query[String.self, at: "next"])
        let notice: String? = if req.query[String.self, at: "registered"] == "1" {
            "Your account is ready. Sign in with your email address and new password."
        } else if req.query[String.self, at: "reset"] == "1" {
            "Your password has been changed, and every other sign-in has ended. Sign in with your new password."
        } else { nil }
        return try await render(req, csrf: session.csrfToken, email: session.signInEmail ?? "", next: next, error: nil,
                                notice: notice, status: .ok)
    }

    func signIn(req: Request) async throws -> Response {
        let form = try req.content.decode(Form.self)
        let next = SafeRedirect.validate(form.next)
        let password = form.password ?? ""
        let email = try? EmailAddress(form.email ?? "")
        do {
            try await req.rateLimit(.signIn, account: email?.value)
        } catch let limited as PublicError where limited.status == .tooManyRequests {
            let session = try await req.ensureSession()
            let response = try await render(req, csrf: session.csrfToken, email: String((form.email ?? "").prefix(254)), next: next,
                                            error: limited.message, notice: nil, status: .tooManyRequests)
            response.headers.replaceOrAdd(name: .retryAfter, value: String(limited.retryAfter ?? 60))
            return response
        }
        // Overlong input is refused before hashing, but only after the same work as any failure.
        let account: SignInAccount? = if let email, password.utf8.count <= 1024 {
            try await SignInAccount.find(email, on: req.db)
        } else { nil }

        let matches = try await req.caseTalk.passwords.verify(password, against: account?.passwordHash)
        let now = req.now
        guard let account else {
            try await req.audit(.signInFailed, actor: .anonymous, subject: "unknown-account")
            return try await failed(req, email: form.email, next: next)
        }
        guard matches else {
            try await recordFailure(req, account: account, now: now)
            return try await failed(req, email: form.email, next: next)
        }

        // The lock is checked by the statement that clears the count, so a right password racing
        // the wrong one that locks the account cannot slip through.
        let rehash = req.caseTalk.passwords.needsRehash(account.passwordHash)
        let newHash = rehash ? try await req.caseTalk.passwords.hash(password) : account.passwordHash
        let admitted = try await req.db.sql.raw("""
            UPDATE \(ident: account.table) SET failed_logins = 0, locked_until = NULL, password_hash = \(bind: newHash)
            WHERE id = \(bind: account.principal.id) AND (locked_until IS NULL OR locked_until <= \(bind: now))
            RETURNING id
            """).all()
        guard !admitted.isEmpty else {
            try await req.audit(.signInFailed, actor: AuditActor(account.principal), subject: "locked")
            return try await failed(req, email: form.email, next: next)
        }
        // An invitation opened before signing in is accepted into the account it was sent to.
        let pendingInvitation = req.session?.registrationTokenHash
        try await req.replaceSession(with: account.principal)
        try await req.audit(.signInSucceeded, actor: AuditActor(account.principal))
        if case .patient(let patientID) = account.principal, let pendingInvitation,
           try await PatientRegistration.acceptIntoAccount(tokenHash: pendingInvitation, patientID: patientID, req: req) {
            return req.redirect(to: "/portal?joined=1")
        }
        return req.redirect(to: next ?? Self.home(of: account.principal)!)
    }

    /// "Stay signed in" on the idle warning (SPEC §5): a request that only keeps the session
    /// alive (the session middleware records it). 204 while signed in, 401 once the session is over.
    func alive(req: Request) async throws -> Response {
        Response(status: req.session?.principal == nil ? .unauthorized : .noContent)
    }

    func signOut(req: Request) async throws -> Response {
        if let principal = req.session?.principal {
            try await req.audit(.signedOut, actor: AuditActor(principal))
        }
        try await req.endSession()
        return req.redirect(to: "/login")
    }

    /// Counts a wrong password and locks the account on the fifth in a row, in one statement
    /// that only counts while the account is not locked (two servers or parallel guesses cannot
    /// lose a count or pass the limit).
    private func recordFailure(_ req: Request, account: SignInAccount, now: Date) async throws {
        struct Row: Decodable { let locked_until: Date? }
        let actor = AuditActor(account.principal)
        let limit = SignInLockout.maxConsecutiveFailures
        let reaches: SQLQueryString = "failed_logins + 1 >= \(literal: limit)"
        try await req.db.transaction { tx in
            let row = try await tx.sql.raw("""
                UPDATE \(ident: account.table) SET
                  failed_logins = CASE WHEN \(reaches) THEN 0 ELSE failed_logins + 1 END,
                  locked_until = CASE WHEN \(reaches) THEN \(bind: now.addingTimeInterval(SignInLockout.lockDuration)) ELSE locked_until END
                WHERE id = \(bind: account.principal.id) AND (locked_until IS NULL OR locked_until <= \(bind: now))
                RETURNING locked_until
                """).first(decoding: Row.self)
            guard let row else {
                try await Audit.record(.signInFailed, actor: actor, subject: "locked", clientAddress: req.clientAddress, at: now, on: tx)
                return
            }
            try await Audit.record(.signInFailed, actor: actor, subject: "wrong-password", clientAddress: req.clientAddress, at: now, on: tx)
            if let until = row.locked_until, until > now {
                try await Audit.record(.accountLocked, actor: actor, subject: "", clientAddress: req.clientAddress, at: now, on: tx)
            }
        }
    }

    private func failed(_ req: Request, email: String?, next: String?) async throws -> Response {
        let session = try await req.ensureSession()
        let shownEmail = String((email ?? "").prefix(254))
        return try await render(req, csrf: session.csrfToken, email: shownEmail, next: next,
                                error: Self.failureMessage, notice: nil, status: .unauthorized)
    }

    private func render(_ req: Request, csrf: String, email: String, next: String?, error: String?,
                        notice: String?, status: HTTPResponseStatus) async throws -> Response {
        let page = Page(chrome: PageChrome(title: "Sign In", csrf: csrf, notice: notice), email: email, next: next, error: error)
        let response = try await req.view.render("signin/login", page).encodeResponse(for: req)
        response.status = status
        return response
    }
}

/// Staff and patients sign in on the same page (SPEC §2, §4). An email address belongs to one
/// account only: registration and `staff create` both refuse an address the other kind uses.
struct SignInAccount: Sendable {
    let principal: Principal
    /// The table the account lives in, for the counters.
    let table: String
    let passwordHash: String
    let failedLogins: Int
    let lockedUntil: Date?

    static func find(_ email: EmailAddress, on db: any Database) async throws -> SignInAccount? {
        if let staff = try await StaffUser.query(on: db).filter(\.$email == email.value).first() {
            return SignInAccount(principal: .staff(try staff.requireID()), table: StaffUser.schema,
                                 passwordHash: staff.passwordHash, failedLogins: staff.failedLogins, lockedUntil: staff.lockedUntil)
        }
        if let patient = try await Patient.query(on: db).filter(\.$email == email.value).first() {
            return SignInAccount(principal: .patient(try patient.requireID()), table: Patient.schema,
                                 passwordHash: patient.passwordHash, failedLogins: patient.failedLogins, lockedUntil: patient.lockedUntil)
        }
        return nil
    }
}
