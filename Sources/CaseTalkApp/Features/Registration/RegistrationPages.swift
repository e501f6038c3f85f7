import CaseTalkCore
import Vapor

/// The registration pages: a typed context per template, built from the registration's state.
enum RegistrationPages {
    /// The step list at the top of every step page.
    struct Steps: Encodable {
        struct Item: Encodable { let number: Int; let title: String; let current: Bool; let done: Bool }
        let items: [Item]
        let current: Int
        let total: Int
        let title: String

        init(_ step: RegistrationStep, of list: [RegistrationStep]) {
            items = list.enumerated().map { index, each in
                Item(number: index + 1, title: each.title, current: each == step, done: each < step)
            }
            current = (list.firstIndex(of: step) ?? 0) + 1
            total = list.count
            title = step.title
        }
    }

    /// The delivery method, code and password pages serve a registration and a password reset;
    /// this says which: where their forms post, and the registration's step list.
    struct Flow: Sendable {
        /// `/register`, `/password/reset` or `/login/verify`.
        let path: String
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
            Flow(path: "/register", step: step, list: progress.steps)
        }
        static let passwordReset = Flow(path: "/password/reset", step: nil, list: [], purpose: "Reset password",
                                        why: "To reset your password, we will send a secret code to the phone number you confirmed when you registered.")
        static func signIn(next: String?) -> Flow {
            Flow(path: "/login/verify", step: nil, list: [], purpose: "Sign In",
                 why: "This browser has not signed in to your account before. To make sure it is you, we will send a secret code to the phone number you confirmed when you registered.",
                 offersRemember: true, next: next)
        }

        var steps: Steps? { step.map { Steps($0, of: list) } }

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

    struct PhoneValues: Encodable { var mobile = "", home = "", work = "" }

    struct BirthDatePage: Encodable {
        let chrome: PageChrome
        let steps: Steps
        let memberName: String
        let practiceName: String
        let value: String
        let error: String?
    }

    struct PhonesPage: Encodable {
        let chrome: PageChrome
        let steps: Steps
        let memberName: String
        let practiceName: String
        let values: PhoneValues
        let errors: [String: String]
        let errorList: [String]
    }

    struct MethodPage: Encodable {
        struct Option: Encodable { let value: String; let label: String; let number: String; let checked: Bool }
        let chrome: PageChrome
        let path: String
        let steps: Steps?
        let why: String?
        let next: String?
        let options: [Option]
        let error: String?
    }

    struct CodePage: Encodable {
        let chrome: PageChrome
        let path: String
        let steps: Steps?
        /// "by text message to your mobile number ending in 23"
        let sentTo: String
        /// Seconds until Re-Send Code may be used (the page counts down).
        let waitSeconds: Int
        let offersRemember: Bool
        let next: String?
        let error: String?
    }

    struct TermsPage: Encodable {
        let chrome: PageChrome
        let steps: Steps
        let version: String
        let sections: [TermsOfUse.Section]
        let error: String?
    }

    struct PasswordPage: Encodable {
        struct Rule: Encodable { let key: String; let label: String; let unmet: Bool }
        let chrome: PageChrome
        let path: String
        let steps: Steps?
        /// "Set password", or "Choose a new password" for a reset.
        let heading: String
        let email: String
        /// The email address's name part, for the page's live check of that rule.
        let emailName: String
        let rules: [Rule]
        let errorList: [String]
        let minLength: Int
        let maxLength: Int
    }

    struct StoppedPage: Encodable {
        let chrome: PageChrome
        let heading: String
        let message: String
    }

    struct ExistingPage: Encodable {
        let chrome: PageChrome
        let memberName: String
        let practiceName: String
        /// Already signed in to the invited account: one button accepts.
        let signedIn: Bool
    }

    // MARK: Rendering

    static func birthDate(_ req: Request, _ state: PatientRegistration.State, value: String, problem: Problem?) async throws -> Response {
        let flow = Flow.registration(.birthDate, state.progress)
        return try await render(req, "register/birth-date", BirthDatePage(
            chrome: flow.chrome(req, heading: RegistrationStep.birthDate.title), steps: Steps(.birthDate, of: flow.list),
            memberName: state.memberName, practiceName: state.practiceName, value: value, error: problem?.message), problem: problem)
    }

    static func phones(_ req: Request, _ state: PatientRegistration.State, values: PhoneValues, errors: FieldErrors,
                       status: HTTPResponseStatus = .ok) async throws -> Response {
        let flow = Flow.registration(.phones, state.progress)
        return try await render(req, "register/phones", PhonesPage(
            chrome: flow.chrome(req, heading: RegistrationStep.phones.title), steps: Steps(.phones, of: flow.list), memberName: state.memberName, practiceName: state.practiceName,
            values: values, errors: errors.byField, errorList: errors.messages.map(\.message)), status: status)
    }

    static func method(_ req: Request, _ subject: CodeSubject, flow: Flow, chosen: CodeRoute?, problem: Problem?) async throws -> Response {
        let numbers = subject.numbers
        let routes = CodeRoute.available(for: numbers)
        let selected = chosen ?? routes.first
        let options = routes.map { route in
            // Only a number's end: after the first step the numbers are shown masked (SPEC §3), so
            // a second browser with the same link learns nothing of them.
            let e164 = numbers[route.kind]?.e164 ?? ""
            return MethodPage.Option(value: route.value, label: route.label, number: "ending in \(e164.suffix(2))",
                                     checked: route == selected)
        }
        return try await render(req, "register/method", MethodPage(chrome: flow.chrome(req, heading: "Delivery method"), path: flow.path,
                                                                   steps: flow.steps, why: flow.why, next: flow.next, options: options,
                                                                   error: problem?.message),
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
        return try await render(req, "register/code", CodePage(chrome: flow.chrome(req, heading: "Enter code", notice: notice),
                                                               path: flow.path, steps: flow.steps,
                                                               sentTo: sentTo, waitSeconds: wait, offersRemember: flow.offersRemember,
                                                               next: flow.next, error: error), problem: problem)
    }

    static func terms(_ req: Request, _ state: PatientRegistration.State, error: String?) async throws -> Response {
        let terms = req.caseTalk.termsOfUse
        let flow = Flow.registration(.terms, state.progress)
        return try await render(req, "register/terms", TermsPage(chrome: flow.chrome(req, heading: RegistrationStep.terms.title),
                                                                 steps: Steps(.terms, of: flow.list),
                                                                 version: terms.version, sections: terms.sections, error: error),
                                status: error == nil ? .ok : .unprocessableEntity)
    }

    static func password(_ req: Request, email: EmailAddress, flow: Flow, broken: [PasswordPolicy.Rule]?) async throws -> Response {
        let rules = PasswordPolicy.Rule.allCases.map { rule in
            PasswordPage.Rule(key: rule.rawValue, label: rule.label, unmet: broken?.contains(rule) ?? true)
        }
        let heading = flow.step == nil ? "Choose a new password" : "Set password"
        return try await render(req, "register/password", PasswordPage(
            chrome: flow.chrome(req, heading: heading), path: flow.path, steps: flow.steps, heading: heading,
            email: email.value, emailName: email.localPart,
            rules: rules, errorList: (broken ?? []).map(\.message),
            minLength: PasswordPolicy.minLength, maxLength: PasswordPolicy.maxLength),
                                status: broken == nil ? .ok : .unprocessableEntity)
    }

    static func stopped(_ req: Request, heading: String, message: String, status: HTTPResponseStatus) async throws -> Response {
        try await render(req, "register/stopped", StoppedPage(chrome: PageChrome(title: heading), heading: heading, message: message),
                         status: status)
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
        return try await render(req, "register/existing", ExistingPage(
            chrome: PageChrome(title: "Sign In to accept", csrf: req.session?.csrfToken),
            memberName: memberName, practiceName: practiceName, signedIn: signedIn))
    }

    private static func render(_ req: Request, _ template: String, _ context: some Encodable & Sendable,
                               problem: Problem?) async throws -> Response {
        let response = try await render(req, template, context, status: problem?.status ?? .ok)
        if let seconds = problem?.retryAfter { response.headers.replaceOrAdd(name: .retryAfter, value: String(seconds)) }
        return response
    }

    private static func render(_ req: Request, _ template: String, _ context: some Encodable & Sendable,
                               status: HTTPResponseStatus = .ok) async throws -> Response {
        let response = try await req.view.render(template, context).encodeResponse(for: req)
        response.status = status
        return response
    }
}
