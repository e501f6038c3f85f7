import CaseTalkCore
import CaseTalkViews
import Fluent
import Vapor

/// Forgot password? (SPEC §4): the form on the sign-in page, the emailed link, then the code to
/// the verified phone (Delivery method, Enter code, on the registration's pages) and a new
/// password. The order is kept here: a page that is not open yet sends the patient to the first
/// unfinished one.
struct PasswordResetController: RouteCollection {
    static let sentNotice = "If that address has a CaseTalk patient account, we have emailed it a link to reset the password. The link works for 30 minutes."
    static let invalidMessage = "This password reset link no longer works: it has expired, been used, or been replaced by a newer one. Ask for a new one from Forgot password? on the sign-in page."

    enum Step: String, Sendable {
        case method, code, password
        var path: Paths {
            switch self {
            case .method: .codeMethod(.passwordReset)
            case .code: .code(.passwordReset)
            case .password: .resetPassword
            }
        }

        static func firstUnfinished(_ state: PasswordResets.State) -> Step {
            state.codeVerified ? .password : state.codeSent ? .code : .method
        }

        func isOpen(_ state: PasswordResets.State) -> Bool {
            switch self {
            case .method: !state.codeVerified
            case .code: state.codeSent && !state.codeVerified
            case .password: state.codeVerified
            }
        }
    }

    struct ForgotForm: Content { var email: String? }

    func boot(routes: any RoutesBuilder) throws {
        let password = routes.grouped("password")
        password.get("forgot", use: forgotPage)
        password.post("forgot", use: requestLink)
        password.get("reset", ":token", use: openLink)
        let reset = password.grouped("reset")
        reset.get(use: start)
        reset.get("method", use: methodPage)
        reset.post("method", use: sendCode)
        reset.get("code", use: codePage)
        reset.post("code", use: checkCode)
        reset.post("code", "resend", use: resendCode)
        reset.get("password", use: passwordPage)
        reset.post("password", use: setPassword)
    }

    // MARK: Forgot password?

    func forgotPage(req: Request) async throws -> Response {
        let notice = req.query[String.self, at: "sent"] == "1" ? Self.sentNotice : nil
        return try await renderForgot(req, csrf: req.formToken(), email: "", notice: notice, error: nil, status: .ok)
    }

    /// The same answer for every well-formed address, so the form does not tell who has an account.
    func requestLink(req: Request) async throws -> Response {
        let form = try req.content.decode(ForgotForm.self)
        let email: EmailAddress
        do {
            email = try EmailAddress(form.email ?? "")
        } catch {
            return try await renderForgot(req, csrf: req.formToken(), email: String((form.email ?? "").prefix(254)), notice: nil,
                                          error: error.message, status: .unprocessableEntity)
        }
        try await req.rateLimit(.passwordReset, account: .email(email))
        try await PasswordResets.request(email, req.useCase)
        return req.redirect(to: .forgotPassword(sent: true))
    }

    // MARK: The link

    /// Opening the link changes nothing but the session: the token moves into it and off the URL.
    /// A link that is not a live reset touches no session (review M7: any 43 characters made one).
    func openLink(req: Request) async throws -> Response {
        guard let token = req.parameters.get("token"), SecureRandom.isTokenShaped(token),
              try await PasswordResets.live(tokenHash: Digest.sha256Hex(token), now: req.now, on: req.db) != nil
        else { return try await invalid(req) }
        try await req.rememberPasswordReset(tokenHash: Digest.sha256Hex(token))
        return req.redirect(to: .resetStart)
    }

    func start(req: Request) async throws -> Response {
        guard let state = try await PasswordResets.load(session: req.session, req.useCase) else { return try await invalid(req) }
        return req.redirect(to: Step.firstUnfinished(state).path)
    }

    // MARK: The code

    struct MethodForm: Content { var route: String? }
    struct CodeForm: Content { var code: String? }

    func methodPage(req: Request) async throws -> Response {
        try await step(.method, req) { state in try await codeSteps(req, state).methodPage(req) }
    }

    func sendCode(req: Request) async throws -> Response {
        try await step(.method, req) { state in
            try await codeSteps(req, state).send(req, route: try req.content.decode(MethodForm.self).route)
        }
    }

    func codePage(req: Request) async throws -> Response {
        try await step(.code, req) { state in try await codeSteps(req, state).codePage(req) }
    }

    func checkCode(req: Request) async throws -> Response {
        try await step(.code, req) { state in
            try await codeSteps(req, state).check(req, code: try req.content.decode(CodeForm.self).code) { token in
                try await req.replaceSession(with: nil, passwordResetTokenHash: req.session?.passwordResetTokenHash, token: token)
                return req.redirect(to: Step.password.path)
            }
        }
    }

    func resendCode(req: Request) async throws -> Response {
        try await step(.code, req) { state in try await codeSteps(req, state).resend(req) }
    }

    private func codeSteps(_ req: Request, _ state: PasswordResets.State) -> CodeSteps {
        CodeSteps(methodFlow: .passwordReset, codeFlow: .passwordReset, subject: state.codeSubject,
                  rateKey: .passwordResetCode(patientID: state.patientID)) { [use = req.useCase] binding in state.codes(use, binding: binding) }
    }

    // MARK: The new password

    struct PasswordForm: Content { var password: String?; var confirmation: String? }

    func passwordPage(req: Request) async throws -> Response {
        try await step(.password, req) { state in
            try await StepPages.password(req, email: state.email, flow: .passwordReset, broken: nil)
        }
    }

    /// Continue checks the same rules as registration, saves the new password and leads to the
    /// sign-in page with the email filled in.
    func setPassword(req: Request) async throws -> Response {
        try await step(.password, req) { state in
            let form = try req.content.decode(PasswordForm.self)
            let password = form.password ?? ""
            let broken = PasswordPolicy.unmet(password, confirmation: form.confirmation ?? "", email: state.email,
                                              common: req.caseTalk.commonPasswords)
            guard broken.isEmpty else {
                return try await StepPages.password(req, email: state.email, flow: .passwordReset, broken: broken)
            }
            let hash = try await req.caseTalk.passwords.hash(password)
            guard try await PasswordResets.complete(state, passwordHash: hash, req.useCase) else { return try await invalid(req) }
            try await req.replaceSession(with: nil, signInEmail: state.email.value)
            return req.redirect(to: .signIn(notice: .reset))
        }
    }

    // MARK: Helpers

    private func step(_ step: Step, _ req: Request, _ body: (PasswordResets.State) async throws -> Response) async throws -> Response {
        guard let state = try await PasswordResets.load(session: req.session, req.useCase) else { return try await invalid(req) }
        guard step.isOpen(state) else { return req.redirect(to: Step.firstUnfinished(state).path) }
        return try await body(state)
    }

    private func invalid(_ req: Request) async throws -> Response {
        try await StepPages.stopped(req, heading: "Reset link no longer works", message: Self.invalidMessage, status: .notFound)
    }

    private func renderForgot(_ req: Request, csrf: String, email: String, notice: String?, error: String?,
                              status: HTTPResponseStatus) async throws -> Response {
        req.page(ForgotPasswordView.render(ForgotPasswordModel(chrome: PageChrome(title: "Forgot password?", csrf: csrf, notice: notice),
                                                              email: email, error: error)), status: status)
    }
}
