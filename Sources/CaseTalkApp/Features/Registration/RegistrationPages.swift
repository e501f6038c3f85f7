import CaseTalkCore
import CaseTalkViews
import Vapor

/// The registration pages: a typed context per template, built from the registration's state.
enum RegistrationPages {
    /// The delivery method, code and password pages serve a registration and a password reset;
    /// this says which: where their forms post, and the registration's step list.
    struct Flow: Sendable {
        /// A registration, a password reset or a new browser's sign-in.
        let flow: Paths.CodeFlow
        let step: RegistrationStep?
        /// The registration's steps (the date of birth only when the case has one).
        let list: [RegistrationStep]
        /// The title's first part outside a registration.
        var purpose = ""
        /// Why the delivery method page asks (outside a registration).
        var why: String? = nil
        /// Whether the code page offers **Remember this browser for 30 days**.
        var offersRemember = false
        /// Carried through the forms (the sign-in's page to return to).
        var next: String? = nil

        static func registration(_ step: RegistrationStep, _ progress: RegistrationProgress) -> Flow {
            Flow(flow: .registration, step: step, list: progress.steps)
        }
        static let passwordReset = Flow(flow: .passwordReset, step: nil, list: [], purpose: "Reset password",
                                        why: "To reset your password, we will send a secret code to the phone number you confirmed when you registered.")
        static func signIn(next: String?) -> Flow {
            Flow(flow: .signIn, step: nil, list: [], purpose: "Sign In",
                 why: "This browser has not signed in to your account before. To make sure it is you, we will send a secret code to the phone number you confirmed when you registered.",
                 offersRemember: true, next: next)
        }

        var steps: StepsModel? { step.map { StepsModel($0, of: list) } }

        func chrome(_ req: Request, heading: String, notice: String? = nil) -> PageChrome {
            let title = steps.map { "\($0.title) · Step \($0.current) of \($0.total)" } ?? "\(purpose) · \(heading)"
            return PageChrome(title: title, csrf: req.session?.csrfToken, notice: notice)
        }
    }

    /// What the code pages show about a registration's or a reset's code.
    struct CodeSubject: Sendable {
        let numbers: PhoneNumbers
        let lastRoute: CodeRoute?
        let lastSentAt: Date?
        let lockedUntil: Date?
    }

    /// Something that went wrong, with the status the page is sent with.
    struct Problem: Sendable {
        let message: String
        let status: HTTPResponseStatus
        var retryAfter: Int?
        init(_ message: String, status: HTTPResponseStatus, retryAfter: Int? = nil) {
            self.message = message; self.status = status; self.retryAfter = retryAfter
        }
    }

    // MARK: Rendering

    static func birthDate(_ req: Request, _ state: PatientRegistration.State, value: String, problem: Problem?) async throws -> Response {
        let flow = Flow.registration(.birthDate, state.progress)
        return send(req, BirthDateView.render(BirthDateModel(
            chrome: flow.chrome(req, heading: RegistrationStep.birthDate.title), steps: StepsModel(.birthDate, of: flow.list),
            memberName: state.memberName, practiceName: state.practiceName, value: value, error: problem?.message)), problem: problem)
    }

    static func phones(_ req: Request, _ state: PatientRegistration.State, values: PhoneValues, errors: FieldErrors,
                       status: HTTPResponseStatus = .ok) async throws -> Response {
        let flow = Flow.registration(.phones, state.progress)
        return req.page(PhonesView.render(PhonesModel(
            chrome: flow.chrome(req, heading: RegistrationStep.phones.title), steps: StepsModel(.phones, of: flow.list),
            memberName: state.memberName, practiceName: state.practiceName, values: values, errors: errors)), status: status)
    }

    static func method(_ req: Request, _ subject: CodeSubject, flow: Flow, chosen: CodeRoute?, problem: Problem?) async throws -> Response {
        let numbers = subject.numbers
        let routes = CodeRoute.available(for: numbers)
        let selected = chosen ?? routes.first
        let options = routes.map { route in
            // Only a number's end: after the first step the numbers are shown masked (SPEC §3), so
            // a second browser with the same link learns nothing of them.
            let e164 = numbers[route.kind]?.e164 ?? ""
            return MethodModel.Option(value: route.value, label: route.label, number: "ending in \(e164.suffix(2))",
                                     checked: route == selected)
        }
        return send(req, MethodView.render(MethodModel(chrome: flow.chrome(req, heading: "Delivery method"), flow: flow.flow,
                                                       steps: flow.steps, why: flow.why, next: flow.next, options: options,
                                                       error: problem?.message)),
                    problem: problem)
    }

    static func code(_ req: Request, _ subject: CodeSubject, flow: Flow, notice: String?, problem: Problem?) async throws -> Response {
        let now = req.now
        var sentTo = "to the number you chose"
        if let route = subject.lastRoute, let number = subject.numbers[route.kind] {
            let how = route.method == .sms ? "by text message" : "by voice call"
            sentTo = "\(how) to your \(route.kind.label.lowercased()) number ending in \(number.e164.suffix(2))"
        }
        let wait = CodeLimits.secondsUntilNextSend(lastSentAt: subject.lastSentAt, now: now)
        var error = problem?.message
        if error == nil, let until = subject.lockedUntil, until > now {
            error = RegistrationController.lockedProblem(until, req: req).message
        }
        return send(req, CodeView.render(CodeModel(chrome: flow.chrome(req, heading: "Enter code", notice: notice),
                                                   flow: flow.flow, steps: flow.steps,
                                                   sentTo: sentTo, waitSeconds: wait, offersRemember: flow.offersRemember,
                                                   next: flow.next, error: error)), problem: problem)
    }

    static func terms(_ req: Request, _ state: PatientRegistration.State, error: String?) async throws -> Response {
        let terms = req.caseTalk.termsOfUse
        let flow = Flow.registration(.terms, state.progress)
        return req.page(TermsView.render(TermsModel(chrome: flow.chrome(req, heading: RegistrationStep.terms.title),
                                                    steps: StepsModel(.terms, of: flow.list),
                                                    version: terms.version, sections: terms.sections, error: error)),
                        status: error == nil ? .ok : .unprocessableEntity)
    }

    static func password(_ req: Request, email: EmailAddress, flow: Flow, broken: [PasswordPolicy.Rule]?) async throws -> Response {
        let rules = PasswordPolicy.Rule.allCases.map { rule in
            PasswordModel.Rule(key: rule.rawValue, label: rule.label, unmet: broken?.contains(rule) ?? true)
        }
        let heading = flow.step == nil ? "Choose a new password" : "Set password"
        return req.page(PasswordView.render(PasswordModel(
            chrome: flow.chrome(req, heading: heading), flow: flow.flow, steps: flow.steps, heading: heading,
            email: email.value, emailName: email.localPart,
            rules: rules, errorList: (broken ?? []).map(\.message),
            minLength: PasswordPolicy.minLength, maxLength: PasswordPolicy.maxLength)),
                        status: broken == nil ? .ok : .unprocessableEntity)
    }

    static func stopped(_ req: Request, heading: String, message: String, status: HTTPResponseStatus) async throws -> Response {
        req.page(StoppedView.render(StoppedModel(chrome: PageChrome(title: heading), heading: heading, message: message)), status: status)
    }

    /// SPEC §3: an account already has this address — Sign In to accept. The sign-in page fills
    /// in the address from the session.
    static func existing(_ req: Request, email: String, memberName: String, practiceName: String) async throws -> Response {
        var signedIn = false
        if case .patient(let id)? = req.session?.principal, try await Patient.find(id, on: req.db)?.email == email {
            signedIn = true
        } else {
            try await req.rememberSignInEmail(email)
        }
        return req.page(ExistingAccountView.render(ExistingAccountModel(
            chrome: PageChrome(title: "Sign In to accept", csrf: req.session?.csrfToken),
            memberName: memberName, practiceName: practiceName, signedIn: signedIn)))
    }

    private static func send(_ req: Request, _ html: HTML, problem: Problem?) -> Response {
        let response = req.page(html, status: problem?.status ?? .ok)
        if let seconds = problem?.retryAfter { response.headers.replaceOrAdd(name: .retryAfter, value: String(seconds)) }
        return response
    }
}
