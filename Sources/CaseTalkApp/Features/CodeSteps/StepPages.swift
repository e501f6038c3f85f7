import CaseTalkCore
import CaseTalkViews
import Foundation
import Vapor

/// The pages of the steps a registration, a password reset and a new browser's sign-in share:
/// the delivery method, the code, the new password, and a flow that cannot go on. Each is drawn
/// from its model by its typed view; `Flow` says which of the three it serves.
enum StepPages {
    static let providerFailedMessage = "We couldn't send the code — try again or choose another method"
    /// A delivery method that is missing, or not one of the offered ones (a forged route).
    static let noMethodChosen = Problem("Choose how we should send your code.", status: .unprocessableEntity)

    /// Which flow a page serves: where their forms post, and the registration's step list.
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
            error = lockedProblem(until, req: req).message
        }
        return send(req, CodeView.render(CodeModel(chrome: flow.chrome(req, heading: "Enter code", notice: notice),
                                                   flow: flow.flow, steps: flow.steps,
                                                   sentTo: sentTo, waitSeconds: wait, offersRemember: flow.offersRemember,
                                                   next: flow.next, error: error)), problem: problem)
    }

    static func password(_ req: Request, email: EmailAddress, flow: Flow, broken: [PasswordPolicy.Rule]?) async throws -> Response {
        let heading = flow.step == nil ? "Choose a new password" : "Set password"
        return password(req, email: email, action: flow.flow == .registration ? .registrationStep(.password) : .resetPassword,
                        chrome: flow.chrome(req, heading: heading), steps: flow.steps, heading: heading, broken: broken)
    }

    /// The password page with the live checklist (SPEC §3), posting to `action`: a patient's
    /// registration or reset, or a staff invitation (SPEC §9).
    static func password(_ req: Request, email: EmailAddress, action: Paths, chrome: PageChrome, steps: StepsModel?, heading: String,
                         broken: [PasswordPolicy.Rule]?) -> Response {
        let rules = PasswordPolicy.Rule.allCases.map { rule in
            PasswordModel.Rule(key: rule.rawValue, label: rule.label, unmet: broken?.contains(rule) ?? true)
        }
        return req.page(PasswordView.render(PasswordModel(
            chrome: chrome, action: action, steps: steps, heading: heading,
            email: email.value, emailName: email.localPart,
            rules: rules, errorList: (broken ?? []).map(\.message),
            minLength: PasswordPolicy.minLength, maxLength: PasswordPolicy.maxLength)),
                        status: broken == nil ? .ok : .unprocessableEntity)
    }

    static func stopped(_ req: Request, heading: String, message: String, status: HTTPResponseStatus) async throws -> Response {
        req.page(StoppedView.render(StoppedModel(chrome: PageChrome(title: heading), heading: heading, message: message)), status: status)
    }

    // MARK: Problems

    /// What a code that was not accepted tells the patient; nil when it was.
    static func problem(_ outcome: VerificationCodes.CheckOutcome, req: Request) -> Problem? {
        switch outcome {
        case .verified:
            return nil
        case .malformed:
            return .init("Enter the 6 digits of the code we sent you.", status: .unprocessableEntity)
        case .wrong(codeStillLive: true):
            return .init("That code is not right. Check the digits and try again.", status: .unprocessableEntity)
        case .wrong(codeStillLive: false):
            return .init("That code is not right, and after 5 wrong tries it no longer works. Use Re-Send Code to get a new one.",
                         status: .unprocessableEntity)
        case .noLiveCode:
            return .init("That code has expired or has been replaced. Use Re-Send Code to get a new one.", status: .unprocessableEntity)
        case .locked(let until):
            return lockedProblem(until, req: req)
        }
    }

    /// What a send that did not happen tells the patient.
    static func problem(_ outcome: VerificationCodes.SendOutcome, req: Request) -> Problem {
        switch outcome {
        case .sent:
            return .init("", status: .ok)
        case .wait(let seconds):
            return .init("Please wait \(seconds) seconds before we send another code.", status: .tooManyRequests, retryAfter: seconds)
        case .tooManyForNumber(let retryAfter):
            return .init("We have sent 5 codes to this number in the last 10 minutes. Wait \(Self.minutes(retryAfter)), or choose another number.",
                         status: .tooManyRequests, retryAfter: retryAfter)
        case .locked(let until):
            return lockedProblem(until, req: req)
        case .providerFailed:
            return .init(providerFailedMessage, status: .badGateway)
        }
    }

    static func lockedProblem(_ until: Date, req: Request) -> Problem {
        let seconds = max(1, Int(until.timeIntervalSince(req.now).rounded(.up)))
        return .init("Too many wrong codes. For your security, codes cannot be checked or sent for \(minutes(seconds)). Then ask for a new code.",
                     status: .tooManyRequests, retryAfter: seconds)
    }

    static func minutes(_ seconds: Int) -> String {
        let minutes = (seconds + 59) / 60
        return minutes == 1 ? "1 minute" : "\(minutes) minutes"
    }

    static func send(_ req: Request, _ html: HTML, problem: Problem?) -> Response {
        let response = req.page(html, status: problem?.status ?? .ok)
        if let seconds = problem?.retryAfter { response.headers.replaceOrAdd(name: .retryAfter, value: String(seconds)) }
        return response
    }
}
