import CaseTalkCore
import CaseTalkViews
import Fluent
import Vapor

/// `/login` and `/logout` (SPEC §2, §5).
struct SignInController: RouteCollection {
    static let failureMessage = "Email or password is incorrect"

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
        req.redirect(to: Self.home(of: req.session?.principal) ?? .signIn())
    }

    /// Where each kind of person starts.
    static func home(of principal: Principal?) -> Paths? {
        switch principal {
        case .staff?: .cases()
        case .patient?: .portal()
        case nil: nil
        }
    }

    func show(req: Request) async throws -> Response {
        if let home = Self.home(of: req.session?.principal) { return req.redirect(to: home) }
        let next = SafeRedirect.validate(req.query[String.self, at: "next"])
        let notice: String? = if req.query[String.self, at: "registered"] == "1" {
            "Your account is ready. Sign in with your email address and new password."
        } else if req.query[String.self, at: "reset"] == "1" {
            "Your password has been changed, and every other sign-in has ended. Sign in with your new password."
        } else { nil }
        return try await render(req, csrf: req.formToken(), email: req.session?.signInEmail ?? "", next: next, error: nil,
                                notice: notice, status: .ok)
    }

    func signIn(req: Request) async throws -> Response {
        let form = try req.content.decode(Form.self)
        let next = SafeRedirect.validate(form.next)
        let password = form.password ?? ""
        let email = try? EmailAddress(form.email ?? "")
        do {
            try await req.rateLimit(.signIn, account: email.map(RateLimitSubject.email))
        } catch let limited as PublicError where limited.status == .tooManyRequests {
            let response = try await render(req, csrf: req.formToken(), email: String((form.email ?? "").prefix(254)), next: next,
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
            try await SignInLock.recordFailure(account.principal, reason: "wrong-password", clientAddress: req.clientAddress, now: now,
                                               auditKey: req.caseTalk.auditKey, on: req.db)
            return try await failed(req, email: form.email, next: next)
        }

        // The lock is checked by the statement that lets the password through, so a right
        // password racing the wrong one that locks the account cannot slip through. The failure
        // count is cleared only by the last step: a second step's wrong codes keep counting.
        let rehash = req.caseTalk.passwords.needsRehash(account.passwordHash)
        let newHash = rehash ? try await req.caseTalk.passwords.hash(password) : account.passwordHash
        let principal = account.principal
        let remembered: Bool = if case .patient(let patientID) = principal {
            try await RememberedBrowsers.recognises(req.rememberedBrowserToken, patientID: patientID, now: now, on: req.db)
        } else { false }
        if remembered {
            guard try await AccountsTable.admit(principal, now: now, passwordHash: newHash, on: req.db) else {
                return try await lockedOut(req, account: account, email: form.email, next: next)
            }
            return try await Self.complete(req, as: principal, next: next)
        }
        let accepted = try await AccountsTable.acceptPassword(principal, now: now, passwordHash: newHash, on: req.db)
        guard accepted else { return try await lockedOut(req, account: account, email: form.email, next: next) }
        let factor: SecondFactor
        switch principal {
        case .staff: factor = account.hasTwoStep ? .totp : .totpSetup
        case .patient(let patientID):
            factor = .phoneCode
            // The patient's code row, made once and kept: its limits carry over from one sign-in to the next.
            try await CodeHoldersTable.keepSignInRow(patientID: patientID, on: req.db)
        }
        // An invitation opened before signing in stays with the half-done sign-in.
        try await req.replaceSession(with: nil, registrationTokenHash: req.session?.registrationTokenHash,
                                     pending: PendingSignIn(account: principal, factor: factor))
        try await req.audit(.passwordAccepted, actor: AuditActor(principal), subject: factor.rawValue)
        let path: Paths = switch factor {
        case .totp: .twoStep(next: next)
        case .totpSetup: .twoStepSetup(next: next)
        case .phoneCode: .codeMethod(.signIn, next: next)
        }
        return req.redirect(to: path)
    }

    /// The end of every sign-in: a new session for `principal` (with the id drawn earlier when a
    /// code was bound to it), audited; an invitation opened before signing in is accepted into the
    /// account it was sent to.
    static func complete(_ req: Request, as principal: Principal, next: String?, token: SessionToken = SessionToken()) async throws -> Response {
        let pendingInvitation = req.session?.registrationTokenHash
        try await req.replaceSession(with: principal, token: token)
        try await req.audit(.signInSucceeded, actor: AuditActor(principal))
        if case .patient(let patientID) = principal, let pendingInvitation,
           try await PatientRegistration.acceptIntoAccount(tokenHash: pendingInvitation, patientID: patientID, req.useCase) {
            return req.redirect(to: .portal(joined: true))
        }
        return req.redirect(to: next ?? home(of: principal)!.path)
    }

    /// A half-done sign-in that cannot go on (the account locked meanwhile): it ends, and the
    /// sign-in page says what every failure says.
    static func startAgain(_ req: Request) async throws -> Response {
        let session = try await req.replaceSession(with: nil)
        let page = SignInModel(chrome: PageChrome(title: "Sign In", csrf: session.csrfToken), email: "", next: nil, error: failureMessage)
        return req.page(SignInView.render(page), status: .unauthorized)
    }

    private func lockedOut(_ req: Request, account: SignInAccount, email: String?, next: String?) async throws -> Response {
        try await req.audit(.signInFailed, actor: AuditActor(account.principal), subject: "locked")
        return try await failed(req, email: email, next: next)
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
        return req.redirect(to: .signIn())
    }

    private func failed(_ req: Request, email: String?, next: String?) async throws -> Response {
        let shownEmail = String((email ?? "").prefix(254))
        return try await render(req, csrf: req.formToken(), email: shownEmail, next: next,
                                error: Self.failureMessage, notice: nil, status: .unauthorized)
    }

    private func render(_ req: Request, csrf: String, email: String, next: String?, error: String?,
                        notice: String?, status: HTTPResponseStatus) async throws -> Response {
        let page = SignInModel(chrome: PageChrome(title: "Sign In", csrf: csrf, notice: notice), email: email, next: next, error: error)
        return req.page(SignInView.render(page), status: status)
    }
}

/// Staff and patients sign in on the same page (SPEC §2, §4). An email address belongs to one
/// account only: registration and `staff create` both refuse an address the other kind uses.
struct SignInAccount: Sendable {
    let principal: Principal
    let passwordHash: String
    /// Staff only: whether two-step verification is set up (else it is, right after the password).
    var hasTwoStep = false

    static func find(_ email: EmailAddress, on db: any Database) async throws -> SignInAccount? {
        // A deactivated account is no account here: the same answer as an unknown address.
        if let staff = try await StaffUser.query(on: db).filter(\.$email == email.value).filter(\.$deactivatedAt == nil).first() {
            return SignInAccount(principal: .staff(try staff.requireID()), passwordHash: staff.passwordHash,
                                 hasTwoStep: staff.totpKey != nil)
        }
        if let patient = try await Patient.query(on: db).filter(\.$email == email.value).first() {
            return SignInAccount(principal: .patient(try patient.requireID()), passwordHash: patient.passwordHash)
        }
        return nil
    }
}
