import CaseTalkCore
import CaseTalkViews
import Fluent
import SQLKit
import Vapor

/// The second step of signing in (SPEC §5, §9). The session names nobody until it is done:
/// - staff: **Two-step verification** (a code from the app, or **Use a recovery code**), or, for
///   an account without it, **Set up two-step verification** first;
/// - patients on a browser not seen before: a code to the verified phone (the registration's
///   Delivery method and Enter code pages), with **Remember this browser for 30 days**.
struct TwoStepController: RouteCollection {
    static let wrongCode = "That code is not right. Enter the 6-digit code your app shows now."
    static let wrongRecoveryCode = "That recovery code is not right, or it has been used."
    static let malformedCode = "Enter the 6 digits your app shows."
    static let malformedRecoveryCode = "Enter a recovery code as you saved it: 16 letters and digits, like abcd-efgh-ijkl-mnop."
    static let wrongSetupCode = "That code is not right. Check that your phone's clock is set automatically, and enter the 6-digit code the app shows now."

    struct CodeForm: Content { var code: String?; var recovery_code: String?; var next: String? }
    struct MethodForm: Content { var route: String?; var next: String? }
    struct PhoneCodeForm: Content { var code: String?; var remember: String?; var next: String? }

    func boot(routes: any RoutesBuilder) throws {
        routes.get("login", "two-step", use: codePage)
        routes.post("login", "two-step", use: checkCode)
        routes.get("two-step", "setup", use: setupPage)
        routes.post("two-step", "setup", use: finishSetup)
        let verify = routes.grouped("login", "verify")
        verify.get(use: methodPage)
        verify.get("method", use: methodPage)
        verify.post("method", use: sendCode)
        verify.get("code", use: phoneCodePage)
        verify.post("code", use: checkPhoneCode)
        verify.post("code", "resend", use: resendCode)
    }

    // MARK: Staff: the code from the app

    func codePage(req: Request) async throws -> Response {
        try await pending(.totp, req) { _ in
            try await renderCode(req, recovery: req.query[String.self, at: "recovery"] == "1", error: nil, status: .ok)
        }
    }

    func checkCode(req: Request) async throws -> Response {
        try await pending(.totp, req) { pending in
            let form = try req.content.decode(CodeForm.self)
            let usesRecovery = form.recovery_code != nil
            // Something that cannot be a code is a typing slip: said so, and not counted.
            if let recovery = form.recovery_code, RecoveryCodes.hash(String(recovery.prefix(64))) == nil {
                return try await renderCode(req, recovery: true, error: Self.malformedRecoveryCode, status: .unprocessableEntity)
            }
            if !usesRecovery, TOTP.normalized(String((form.code ?? "").prefix(64))) == nil {
                return try await renderCode(req, recovery: false, error: Self.malformedCode, status: .unprocessableEntity)
            }
            let now = req.now
            let outcome: StaffTwoStep.Outcome = if let recovery = form.recovery_code {
                try await StaffTwoStep.useRecoveryCode(String(recovery.prefix(64)), staffID: pending.account.id,
                                                       auditKey: req.caseTalk.auditKey, now: now,
                                                       clientAddress: req.clientAddress, on: req.db)
            } else {
                try await StaffTwoStep.checkCode(String((form.code ?? "").prefix(64)), staffID: pending.account.id,
                                                 sealer: req.caseTalk.sealer, auditKey: req.caseTalk.auditKey, now: now,
                                                 clientAddress: req.clientAddress, on: req.db)
            }
            switch outcome {
            case .admitted:
                return try await SignInController.complete(req, as: pending.account, next: SafeRedirect.validate(form.next))
            case .wrong:
                return try await renderCode(req, recovery: usesRecovery, error: usesRecovery ? Self.wrongRecoveryCode : Self.wrongCode,
                                            status: .unauthorized)
            case .locked:
                // The fifth wrong answer in a row: the half-done sign-in ends like any failed one.
                return try await SignInController.startAgain(req)
            }
        }
    }

    // MARK: Staff: setting it up

    func setupPage(req: Request) async throws -> Response {
        try await pending(.totpSetup, req) { pending in
            try await renderSetup(req, pending, error: nil, status: .ok)
        }
    }

    func finishSetup(req: Request) async throws -> Response {
        try await pending(.totpSetup, req) { pending in
            let form = try req.content.decode(CodeForm.self)
            let staffID = pending.account.id
            try await req.rateLimit(.codeCheck, account: .twoStepSetup(staffID: staffID))
            let now = req.now
            guard let key = try setupKey(req, pending),
                  let step = TOTP.matchingStep(String((form.code ?? "").prefix(64)), key: key, at: now, after: nil) else {
                return try await renderSetup(req, pending, error: Self.wrongSetupCode, status: .unprocessableEntity)
            }
            guard try await AccountsTable.admit(pending.account, now: now, on: req.db),
                  let codes = try await StaffTwoStep.turnOn(staffID: staffID, key: key, usedStep: step, sealer: req.caseTalk.sealer,
                                                            auditKey: req.caseTalk.auditKey, now: now, clientAddress: req.clientAddress, on: req.db) else {
                return try await SignInController.startAgain(req)
            }
            let next = SafeRedirect.validate(form.next) ?? SignInController.home(of: pending.account)!.path
            _ = try await SignInController.complete(req, as: pending.account, next: next)
            return req.page(RecoveryCodesView.render(RecoveryCodesModel(
                chrome: PageChrome(title: "Save your recovery codes", csrf: req.session?.csrfToken), codes: codes, next: next)))
        }
    }

    /// The key being set up: drawn on the first visit and kept, sealed, in the half-done sign-in.
    private func setupKey(_ req: Request, _ pending: PendingSignIn) throws -> [UInt8]? {
        guard let sealed = pending.sealedKey, let session = req.session else { return nil }
        return try req.caseTalk.sealer.open(sealed, context: SealedData.setupKeyContext(session.idHash))
    }

    private func renderSetup(_ req: Request, _ pending: PendingSignIn, error: String?, status: HTTPResponseStatus) async throws -> Response {
        var key = try setupKey(req, pending)
        if key == nil, let session = req.session {
            let drawn = TOTP.newKey()
            try await req.rememberPendingKey(try req.caseTalk.sealer.seal(drawn, context: SealedData.setupKeyContext(session.idHash)))
            key = drawn
        }
        guard let key, let staff = try await StaffUser.find(pending.account.id, on: req.db) else { throw Abort(.notFound) }
        let uri = TOTP.provisioningURI(key: key, account: staff.email)
        let qr = try? QRCode(uri)
        let page = TwoStepSetupModel(chrome: PageChrome(title: "Set up two-step verification", csrf: req.session?.csrfToken),
                                     qrPath: qr?.svgPath ?? "", qrSide: qr?.sideWithQuietZone ?? 0, key: TOTP.grouped(key),
                                     next: SafeRedirect.validate(req.query[String.self, at: "next"]), error: error)
        return req.page(TwoStepSetupView.render(page), status: status)
    }

    private func renderCode(_ req: Request, recovery: Bool, error: String?, status: HTTPResponseStatus) async throws -> Response {
        let next = SafeRedirect.validate(req.query[String.self, at: "next"] ?? (try? req.content.get(String.self, at: "next")))
        let page = TwoStepModel(chrome: PageChrome(title: "Two-step verification", csrf: req.session?.csrfToken), recovery: recovery,
                                next: next, error: error)
        return req.page(TwoStepView.render(page), status: status)
    }

    // MARK: Patients: a code to the verified phone

    func methodPage(req: Request) async throws -> Response {
        try await phoneStep(req, needsLiveCode: false) { steps, _ in try await steps.methodPage(req) }
    }

    func sendCode(req: Request) async throws -> Response {
        try await phoneStep(req, needsLiveCode: false) { steps, _ in
            try await steps.send(req, route: try req.content.decode(MethodForm.self).route)
        }
    }

    func phoneCodePage(req: Request) async throws -> Response {
        try await phoneStep(req, needsLiveCode: true) { steps, _ in try await steps.codePage(req) }
    }

    func checkPhoneCode(req: Request) async throws -> Response {
        try await phoneStep(req, needsLiveCode: false) { steps, state in
            let form = try req.content.decode(PhoneCodeForm.self)
            return try await steps.check(req, code: form.code) { token in
                try await signInByPhone(req, state, remember: form.remember == "on", next: steps.codeFlow.next, token: token)
            }
        }
    }

    func resendCode(req: Request) async throws -> Response {
        try await phoneStep(req, needsLiveCode: false) { steps, _ in try await steps.resend(req) }
    }

    /// The code was right: the sign-in ends as every sign-in does, the browser is remembered when
    /// asked, and the patient is told by email.
    private func signInByPhone(_ req: Request, _ state: PhoneState, remember: Bool, next: String?,
                               token: SessionToken) async throws -> Response {
        let account = Principal.patient(state.patientID)
        let now = req.now
        guard try await AccountsTable.admit(account, now: now, on: req.db) else { return try await SignInController.startAgain(req) }
        let services = req.caseTalk
        let deviceToken = try await req.db.transaction { tx -> String? in
            var token: String?
            if remember {
                token = try await RememberedBrowsers.remember(patientID: state.patientID, now: now, on: tx)
                try await req.audit(.browserRemembered, actor: AuditActor(account), on: tx)
            }
            let notice = AccountEmails.newBrowserSignIn(to: state.email, from: services.config.mailFrom,
                                                        signInLink: Paths.signIn().url(base: services.config.publicBaseURL))
            try await Outbox.enqueue(notice, kind: .newBrowserSignIn, relatedID: state.patientID, sealer: services.sealer,
                                     at: now, on: tx)
            return token
        }
        let response = try await SignInController.complete(req, as: account, next: next, token: token)
        if let deviceToken {
            req.rememberBrowser(deviceToken, on: response)
        }
        return response
    }

    private typealias Flow = StepPages.Flow

    /// A patient's sign-in code, as the pages need it.
    struct PhoneState: Sendable {
        let patientID: UUID
        let email: String
        let numbers: PhoneNumbers
        let codeNumber: String?
        let codeChannel: String?
        let lastSentAt: Date?
        let lockedUntil: Date?

        var lastRoute: CodeRoute? { CodeRoute.last(sentTo: codeNumber, channel: codeChannel, in: numbers) }
        var subject: StepPages.CodeSubject {
            .init(numbers: numbers, lastRoute: lastRoute, lastSentAt: lastSentAt, lockedUntil: lockedUntil)
        }

        func codes(_ use: UseCaseContext, binding: String? = nil) -> VerificationCodes.Context {
            VerificationCodes.Context(holder: .signIn(patientID), use: use, binding: binding)
        }
    }

    /// Runs `body` for a sign-in that owes a phone code; the code page only while a code is live.
    private func phoneStep(_ req: Request, needsLiveCode: Bool,
                           _ body: (CodeSteps, PhoneState) async throws -> Response) async throws -> Response {
        try await pending(.phoneCode, req) { pending in
            guard let patient = try await Patient.find(pending.account.id, on: req.db) else { throw Abort(.notFound) }
            guard let row = try await CodeHoldersTable.state(of: .signInCodes, id: pending.account.id, on: req.db) else {
                throw Abort(.notFound)
            }
            let next = SafeRedirect.validate(req.query[String.self, at: "next"] ?? (try? req.content.get(String.self, at: "next")))
            let flow = Flow.signIn(next: next)
            if needsLiveCode, row.codeHmac == nil || (row.codeExpiresAt ?? .distantPast) <= req.now {
                return req.redirect(to: flow.methodPath)
            }
            let state = PhoneState(patientID: pending.account.id, email: patient.email, numbers: patient.verifiedNumbers,
                                   codeNumber: row.codeNumber, codeChannel: row.codeChannel, lastSentAt: row.lastSentAt,
                                   lockedUntil: row.lockedUntil)
            let use = req.useCase
            let steps = CodeSteps(methodFlow: flow, codeFlow: flow, subject: state.subject, rateKey: .signInCode(patientID: state.patientID)) {
                binding in state.codes(use, binding: binding)
            }
            return try await body(steps, state)
        }
    }

    // MARK: Helpers

    /// Runs `body` when this session's sign-in owes `factor`; anyone else starts at Sign In.
    private func pending(_ factor: SecondFactor, _ req: Request, _ body: (PendingSignIn) async throws -> Response) async throws -> Response {
        guard let pending = req.session?.pending, pending.factor == factor else {
            return req.redirect(to: SignInController.home(of: req.session?.principal) ?? .signIn())
        }
        return try await body(pending)
    }
}
