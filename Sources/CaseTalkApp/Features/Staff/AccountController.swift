import CaseTalkCore
import CaseTalkViews
import Fluent
import Vapor

/// **Account** (SPEC §9), for every staff member: **Change password** (the current one required;
/// every other session ends), the signed-in sessions with **Sign out other sessions**, and
/// **New recovery codes**. Each change is audited.
struct AccountController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("account", use: page)
        routes.post("account", "password", use: changePassword)
        routes.post("account", "sessions", "sign-out-others", use: signOutOthers)
        routes.post("account", "recovery-codes", use: newRecoveryCodes)
    }

    struct PasswordForm: Content { var current: String?; var password: String?; var confirmation: String? }

    func page(req: Request) async throws -> Response {
        let notice: String? = switch req.query[String.self, at: "done"].flatMap(Paths.AccountNotice.init(rawValue:)) {
        case .password: "Your password was changed, and every other place you were signed in was signed out."
        case .signedOut: "Every other place you were signed in was signed out."
        case nil: nil
        }
        return try await render(req, notice: notice, broken: nil, problems: [])
    }

    func changePassword(req: Request) async throws -> Response {
        let staff = try req.requireStaff()
        guard let account = try await StaffUser.find(staff.id, on: req.db), let session = req.session,
              let email = try? EmailAddress(account.email) else { throw PublicError.notFound }
        let form = try req.content.decode(PasswordForm.self)
        let now = req.now, services = req.caseTalk
        guard try await services.passwords.verify(String((form.current ?? "").prefix(PasswordPolicy.maxLength)), against: account.passwordHash) else {
            // Wrong guesses here count toward the sign-in lock; at the lock this session ends too.
            if try await SignInLock.recordFailure(.staff(staff.id), reason: "account-password", clientAddress: req.clientAddress, now: now,
                                                  auditKey: services.auditKey, on: req.db) {
                try await SessionHousekeeping.endAll(of: .staff(staff.id), on: req.db)
                return req.redirect(to: .signIn())
            }
            return try await render(req, notice: nil, broken: nil, problems: ["Your current password is not right."], status: .unauthorized)
        }
        let password = form.password ?? ""
        let broken = PasswordPolicy.unmet(password, confirmation: form.confirmation ?? "", email: email, common: services.commonPasswords)
        guard broken.isEmpty else {
            return try await render(req, notice: nil, broken: broken, problems: broken.map(\.message), status: .unprocessableEntity)
        }
        let hash = try await services.passwords.hash(password)
        let use = req.useCase
        try await req.db.transaction { tx in
            try await AccountsTable.setStaffPassword(staff.id, hash: hash, on: tx)
            try await SessionsTable.deleteOthers(of: .staff(staff.id), keep: session.idHash, on: tx)
            try await Outbox.enqueue(AccountEmails.passwordChanged(to: account.email, from: services.config.mailFrom,
                                                                   signInLink: Paths.signIn().url(base: services.config.publicBaseURL)),
                                     kind: .passwordChanged, relatedID: staff.id, sealer: services.sealer, at: now, on: tx)
            try await use.on(tx).audit(.passwordChanged, actor: .staff(staff.id), subject: "staff:\(staff.id)")
        }
        // A new session id after the change (SPEC §5: renewed at every step-up).
        try await req.replaceSession(with: .staff(staff.id))
        return req.redirect(to: .account(done: .password))
    }

    func signOutOthers(req: Request) async throws -> Response {
        let staff = try req.requireStaff()
        guard let session = req.session else { throw PublicError.notFound }
        let ended = try await SessionsTable.deleteOthers(of: .staff(staff.id), keep: session.idHash, on: req.db)
        try await req.audit(.otherSessionsEnded, actor: .staff(staff.id), subject: "sessions:\(ended)")
        return req.redirect(to: .account(done: .signedOut))
    }

    /// Ten new codes in place of every earlier one, shown once.
    func newRecoveryCodes(req: Request) async throws -> Response {
        let staff = try req.requireStaff()
        let codes = RecoveryCodes.generate()
        let use = req.useCase
        try await req.db.transaction { tx in
            try await StaffTwoStep.replaceRecoveryCodes(staffID: staff.id, with: codes, now: use.now, on: tx)
            try await use.on(tx).audit(.recoveryCodesReplaced, actor: .staff(staff.id), subject: "staff:\(staff.id)")
        }
        return req.page(RecoveryCodesView.render(RecoveryCodesModel(
            chrome: try req.staffChrome("Save your recovery codes"), codes: codes, next: Paths.account().path)))
    }

    private func render(_ req: Request, notice: String?, broken: [PasswordPolicy.Rule]?, problems: [String],
                        status: HTTPResponseStatus = .ok) async throws -> Response {
        let staff = try req.requireStaff()
        guard let account = try await StaffUser.find(staff.id, on: req.db), let email = try? EmailAddress(account.email) else {
            throw PublicError.notFound
        }
        let current = req.session?.idHash
        let zone = staff.zone
        let sessions = try await SessionsTable.sessions(of: .staff(staff.id), on: req.db).map {
            AccountModel.Session(started: zone.display($0.createdAt), lastActive: zone.display($0.lastSeenAt), current: $0.id == current)
        }
        let rules = PasswordPolicy.Rule.allCases.map { PasswordModel.Rule(key: $0.rawValue, label: $0.label, unmet: broken?.contains($0) ?? true) }
        return req.page(AccountView.render(AccountModel(chrome: try req.staffChrome("Account", notice: notice), email: account.email,
                                                        sessions: sessions, rules: rules, emailName: email.localPart,
                                                        passwordErrors: problems)), status: status)
    }
}
