import CaseTalkCore
import CaseTalkViews
import Fluent
import Vapor

/// The patient's registration (SPEC §3): the link from the invitation email, then five steps in
/// order (Phone numbers, Delivery method, Enter code, Terms of Use, Set password). The order is
/// kept here: a page that is not open yet sends the patient to the first unfinished step.
struct RegistrationController: RouteCollection {
    static let invalidMessage = "This invitation is no longer valid. Ask your practice to send a new one."

    func boot(routes: any RoutesBuilder) throws {
        routes.get("register", ":token", use: openLink)
        let register = routes.grouped("register")
        register.get(use: start)
        register.get("birth-date", use: birthDatePage)
        register.post("birth-date", use: checkBirthDate)
        register.get("phones", use: phonesPage)
        register.post("phones", use: savePhones)
        register.get("method", use: methodPage)
        register.post("method", use: sendCode)
        register.get("code", use: codePage)
        register.post("code", use: checkCode)
        register.post("code", "resend", use: resendCode)
        register.get("terms", use: termsPage)
        register.post("terms", use: acceptTerms)
        register.get("password", use: passwordPage)
        register.post("password", use: setPassword)
        register.post("accept", use: acceptIntoAccount)
    }

    // MARK: The link

    /// Opening the link changes nothing but the invitation's *opened* mark (mail scanners fetch
    /// links too), then moves the token into the session and off the URL.
    func openLink(req: Request) async throws -> Response {
        guard let token = req.parameters.get("token"), SecureRandom.isTokenShaped(token) else { return try await stopped(req, .invalid) }
        let hash = Digest.sha256Hex(token)
        let use = req.useCase
        guard let invitation = try await Invitations.live(tokenHash: hash, now: use.now, on: use.db) else { return try await stopped(req, .invalid) }
        try await Invitations.markOpened(invitation, use)
        try await req.rememberRegistration(tokenHash: hash)
        return req.redirect(to: .registration)
    }

    func start(req: Request) async throws -> Response {
        switch try await PatientRegistration.load(session: req.session, req.useCase) {
        case .stopped(let stop): return try await stopped(req, stop)
        case .going(let state): return req.redirect(to: .registrationStep(state.progress.firstUnfinished))
        }
    }

    // MARK: 0. Date of birth (when the case has one)

    struct BirthDateForm: Content { var birth_date: String? }

    func birthDatePage(req: Request) async throws -> Response {
        try await step(.birthDate, req) { state in
            try await RegistrationPages.birthDate(req, state, value: "", problem: nil)
        }
    }

    /// A wrong answer is counted (3 end the link); a malformed one is not.
    func checkBirthDate(req: Request) async throws -> Response {
        try await step(.birthDate, req) { state in
            let form = try req.content.decode(BirthDateForm.self)
            let typed = Self.echo(form.birth_date)
            guard let answer = CalendarDate(typed: typed) else {
                return try await RegistrationPages.birthDate(req, state, value: typed, problem: .init(
                    "Enter your date of birth as month, day and year, for example 04/27/1986.", status: .unprocessableEntity))
            }
            try await req.rateLimit(.codeCheck, account: .invitation(state.invitationID))
            switch try await PatientRegistration.checkBirthDate(answer, state, req.useCase) {
            case .confirmed:
                return req.redirect(to: .registrationStep(.phones))
            case .wrong(ended: false):
                return try await RegistrationPages.birthDate(req, state, value: "", problem: .init(
                    "That date of birth does not match what your practice has on file. Check it and try again.",
                    status: .unprocessableEntity))
            case .wrong(ended: true):
                return try await stopped(req, .invalid)
            }
        }
    }

    // MARK: 1. Phone numbers

    struct PhoneForm: Content { var mobile: String?; var home: String?; var work: String? }

    func phonesPage(req: Request) async throws -> Response {
        try await step(.phones, req) { state in
            let numbers = state.numbers
            return try await RegistrationPages.phones(req, state, values: .init(mobile: numbers.mobile?.e164 ?? "",
                                                                                home: numbers.home?.e164 ?? "",
                                                                                work: numbers.work?.e164 ?? ""),
                                                      errors: FieldErrors())
        }
    }

    func savePhones(req: Request) async throws -> Response {
        try await step(.phones, req) { state in
            let form = try req.content.decode(PhoneForm.self)
            switch PhoneNumbers.validate(mobile: form.mobile, home: form.home, work: form.work) {
            case .failure(let errors):
                let values = PhoneValues(mobile: Self.echo(form.mobile), home: Self.echo(form.home), work: Self.echo(form.work))
                return try await RegistrationPages.phones(req, state, values: values, errors: errors, status: .unprocessableEntity)
            case .success(let numbers):
                // Numbers another browser typed, or already verified, stay as they are.
                guard try await PatientRegistration.savePhones(numbers, state, req.useCase) else {
                    return req.redirect(to: .registration)
                }
                return req.redirect(to: .registrationStep(.method))
            }
        }
    }

    // MARK: 2. Delivery method

    struct MethodForm: Content { var route: String? }

    func methodPage(req: Request) async throws -> Response {
        try await step(.method, req) { state in try await codeSteps(req, state).methodPage(req) }
    }

    /// Continue sends the code by the chosen route.
    func sendCode(req: Request) async throws -> Response {
        try await step(.method, req) { state in
            try await codeSteps(req, state).send(req, route: try req.content.decode(MethodForm.self).route)
        }
    }

    // MARK: 3. Enter code

    struct CodeForm: Content { var code: String? }

    func codePage(req: Request) async throws -> Response {
        try await step(.code, req) { state in try await codeSteps(req, state).codePage(req) }
    }

    func checkCode(req: Request) async throws -> Response {
        try await step(.code, req) { state in
            try await codeSteps(req, state).check(req, code: try req.content.decode(CodeForm.self).code) { token in
                try await req.replaceSession(with: nil, registrationTokenHash: req.session?.registrationTokenHash, token: token)
                return req.redirect(to: .registrationStep(.terms))
            }
        }
    }

    /// Re-Send Code: a new code the same way as the last one; the previous code stops working.
    func resendCode(req: Request) async throws -> Response {
        try await step(.code, req) { state in try await codeSteps(req, state).resend(req) }
    }

    private func codeSteps(_ req: Request, _ state: PatientRegistration.State) -> CodeSteps {
        CodeSteps(methodFlow: .registration(.method, state.progress), codeFlow: .registration(.code, state.progress),
                  subject: state.codeSubject, rateKey: .invitation(state.invitationID)) { binding in
            context(req, state, binding: binding)
        }
    }

    // MARK: 4. Terms of Use

    struct TermsForm: Content { var read: String?; var scrolled: String? }

    func termsPage(req: Request) async throws -> Response {
        try await step(.terms, req) { state in
            try await RegistrationPages.terms(req, state, error: nil)
        }
    }

    /// I Accept counts when the box was scrolled to the end (the page script says so) or the
    /// "I have read the Terms of Use" box is ticked (keyboard, screen reader, no script).
    func acceptTerms(req: Request) async throws -> Response {
        try await step(.terms, req) { state in
            let form = try req.content.decode(TermsForm.self)
            guard form.read == "yes" || form.scrolled == "yes" else {
                return try await RegistrationPages.terms(
                    req, state, error: "Read the Terms of Use to the end, or tick “I have read the Terms of Use”, then choose I Accept.")
            }
            try await PatientRegistration.acceptTerms(req.caseTalk.termsOfUse, state, req.useCase)
            return req.redirect(to: .registrationStep(.password))
        }
    }

    // MARK: 5. Set password

    struct PasswordForm: Content { var password: String?; var confirmation: String? }

    func passwordPage(req: Request) async throws -> Response {
        try await step(.password, req) { state in
            try await StepPages.password(req, email: state.email, flow: .registration(.password, state.progress), broken: nil)
        }
    }

    /// Continue checks the rules (the server is the only authority), makes the account and leads
    /// to the sign-in page with the email filled in.
    func setPassword(req: Request) async throws -> Response {
        try await step(.password, req) { state in
            let form = try req.content.decode(PasswordForm.self)
            let password = form.password ?? ""
            let broken = PasswordPolicy.unmet(password, confirmation: form.confirmation ?? "", email: state.email,
                                              common: req.caseTalk.commonPasswords)
            guard broken.isEmpty else {
                return try await StepPages.password(req, email: state.email, flow: .registration(.password, state.progress), broken: broken)
            }
            let hash = try await req.caseTalk.passwords.hash(password)
            switch try await PatientRegistration.complete(state, passwordHash: hash, req.useCase) {
            case .created(let email, let deviceToken):
                try await req.replaceSession(with: nil, signInEmail: email)
                // The browser that registered is remembered (SPEC §5): its first sign-in needs no new code.
                let response = req.redirect(to: .signIn(notice: .registered))
                req.rememberBrowser(deviceToken, on: response)
                return response
            case .alreadyDone:
                return req.redirect(to: .registration)
            }
        }
    }

    // MARK: An existing account

    /// A patient already signed in to the invited account accepts with one button.
    func acceptIntoAccount(req: Request) async throws -> Response {
        guard case .patient(let patientID)? = req.session?.principal, let hash = req.session?.registrationTokenHash,
              try await PatientRegistration.acceptIntoAccount(tokenHash: hash, patientID: patientID, req.useCase)
        else { return req.redirect(to: .registration) }
        return req.redirect(to: .portal(joined: true))
    }

    // MARK: Helpers

    /// Runs `body` when `step` is open for the session's registration; otherwise shows why not,
    /// or sends the patient to the first unfinished step.
    private func step(_ step: RegistrationStep, _ req: Request,
                      _ body: (PatientRegistration.State) async throws -> Response) async throws -> Response {
        switch try await PatientRegistration.load(session: req.session, req.useCase) {
        case .stopped(let stop):
            return try await stopped(req, stop)
        case .going(let state):
            guard state.progress.allows(step) else { return req.redirect(to: .registrationStep(state.progress.firstUnfinished)) }
            return try await body(state)
        }
    }

    private func stopped(_ req: Request, _ stop: PatientRegistration.Stop) async throws -> Response {
        switch stop {
        case .invalid:
            return try await StepPages.stopped(req, heading: "Invitation no longer valid", message: Self.invalidMessage,
                                                       status: .notFound)
        case .staffAddress:
            return try await StepPages.stopped(
                req, heading: "This address belongs to a staff account",
                message: "A CaseTalk staff account already uses this email address, and one address can only have one account. Ask your practice to invite you at another address.",
                status: .conflict)
        case .existingAccount(let email, let memberName, let practiceName):
            // Signed in to that account already: Accept. Otherwise the sign-in page fills in the
            // address from the session (written here, before the page is drawn).
            var signedIn = false
            if case .patient(let id)? = req.session?.principal, try await Patient.find(id, on: req.db)?.email == email {
                signedIn = true
            } else {
                try await req.rememberSignInEmail(email)
            }
            return RegistrationPages.existing(req, memberName: memberName, practiceName: practiceName, signedIn: signedIn)
        }
    }

    private func context(_ req: Request, _ state: PatientRegistration.State, binding: String? = nil) -> VerificationCodes.Context {
        .registration(invitationID: state.invitationID, use: req.useCase, binding: binding)
    }

    /// What the patient typed, shown back in the form after an error (bounded).
    static func echo(_ value: String?) -> String { String((value ?? "").prefix(40)) }
}
