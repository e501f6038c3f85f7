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
    }

    func home(req: Request) async throws -> Response {
        req.redirect(to: req.session?.principal == nil ? "/login" : "/cases")
    }

    func show(req: Request) async throws -> Response {
        if case .staff? = req.session?.principal { return req.redirect(to: "/cases") }
        let session = try await req.ensureSession()
        let next = SafeRedirect.validate(req.query[String.self, at: "next"])
        return try await render(req, csrf: session.csrfToken, email: "", next: next, error: nil, status: .ok)
    }

    func signIn(req: Request) async throws -> Response {
        let form = try req.content.decode(Form.self)
        let next = SafeRedirect.validate(form.next)
        let password = form.password ?? ""
        let email = try? EmailAddress(form.email ?? "")
        // Overlong input is refused before hashing, but only after the same work as any failure.
        let account: StaffUser? = if let email, password.utf8.count <= 1024 {
            try await StaffUser.query(on: req.db).filter(\.$email == email.value).first()
        } else { nil }

        let matches = try await req.caseTalk.passwords.verify(password, against: account?.passwordHash)
        let now = req.now
        guard let account, let accountID = account.id else {
            try await req.audit(.signInFailed, actor: .anonymous, subject: "unknown-account")
            return try await failed(req, email: form.email, next: next)
        }
        if let lockedUntil = account.lockedUntil, lockedUntil > now {
            try await req.audit(.signInFailed, actor: .staff(accountID), subject: "locked")
            return try await failed(req, email: form.email, next: next)
        }
        guard matches else {
            try await recordFailure(req, accountID: accountID, now: now)
            return try await failed(req, email: form.email, next: next)
        }

        let rehash = req.caseTalk.passwords.needsRehash(account.passwordHash)
        if account.failedLogins > 0 || account.lockedUntil != nil || rehash {
            let newHash = rehash ? try await req.caseTalk.passwords.hash(password) : account.passwordHash
            try await StaffUser.query(on: req.db).filter(\.$id == accountID)
                .set(\.$failedLogins, to: 0).set(\.$lockedUntil, to: nil).set(\.$passwordHash, to: newHash)
                .update()
        }
        try await req.replaceSession(with: .staff(accountID))
        try await req.audit(.signInSucceeded, actor: .staff(accountID))
        return req.redirect(to: next ?? "/cases")
    }

    func signOut(req: Request) async throws -> Response {
        if case .staff(let id)? = req.session?.principal {
            try await req.audit(.signedOut, actor: .staff(id))
        }
        try await req.endSession()
        return req.redirect(to: "/login")
    }

    /// Counts a wrong password in one statement (two servers cannot lose a count), and locks the
    /// account on the fifth in a row.
    private func recordFailure(_ req: Request, accountID: UUID, now: Date) async throws {
        struct Count: Decodable { let failed_logins: Int }
        try await req.db.transaction { tx in
            let count = try await tx.sql.update(StaffUser.schema)
                .set(SQLIdentifier("failed_logins"),
                     to: SQLBinaryExpression(SQLIdentifier("failed_logins"), .add, SQLLiteral.numeric("1")))
                .where("id", .equal, accountID)
                .returning("failed_logins")
                .first(decoding: Count.self)?.failed_logins ?? 0
            try await Audit.record(.signInFailed, actor: .staff(accountID), subject: "wrong-password",
                                   clientAddress: req.clientAddress, at: now, on: tx)
            if count >= SignInLockout.maxConsecutiveFailures {
                try await StaffUser.query(on: tx).filter(\.$id == accountID)
                    .set(\.$failedLogins, to: 0)
                    .set(\.$lockedUntil, to: now.addingTimeInterval(SignInLockout.lockDuration))
                    .update()
                try await Audit.record(.accountLocked, actor: .staff(accountID), subject: "",
                                       clientAddress: req.clientAddress, at: now, on: tx)
            }
        }
    }

    private func failed(_ req: Request, email: String?, next: String?) async throws -> Response {
        let session = try await req.ensureSession()
        let shownEmail = String((email ?? "").prefix(254))
        return try await render(req, csrf: session.csrfToken, email: shownEmail, next: next,
                                error: Self.failureMessage, status: .unauthorized)
    }

    private func render(_ req: Request, csrf: String, email: String, next: String?, error: String?,
                        status: HTTPResponseStatus) async throws -> Response {
        let page = Page(chrome: PageChrome(title: "Sign In", csrf: csrf), email: email, next: next, error: error)
        let response = try await req.view.render("signin/login", page).encodeResponse(for: req)
        response.status = status
        return response
    }
}
