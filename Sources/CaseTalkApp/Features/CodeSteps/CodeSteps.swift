import CaseTalkCore
import Vapor

/// The actions of the Delivery method and Enter code pages, one way for the three flows that send
/// a code to a phone: a registration (SPEC §3), a password reset (§4) and a sign-in from a browser
/// not seen before (§5). Each flow says what it holds (the numbers, the code's state, its code
/// row) and what follows a right code; the sending, checking and their messages are the same.
struct CodeSteps {
    /// The method page's flow and the code page's (a registration's step lists differ).
    let methodFlow: StepPages.Flow
    let codeFlow: StepPages.Flow
    let subject: StepPages.CodeSubject
    /// The rate limits' key for this code's holder ("invitation:<id>", …).
    let rateKey: RateLimitSubject
    /// The code's holder, bound (for a check) to the session a right code admits.
    let codes: (_ binding: String?) -> VerificationCodes.Context

    private var numbers: PhoneNumbers { subject.numbers }

    func methodPage(_ req: Request) async throws -> Response {
        try await StepPages.method(req, subject, flow: methodFlow, chosen: subject.lastRoute, problem: nil)
    }

    /// Continue on Delivery method: the code by the chosen route, then Enter code.
    func send(_ req: Request, route value: String?) async throws -> Response {
        guard let route = value.flatMap(CodeRoute.init(value:)), CodeRoute.available(for: numbers).contains(route),
              let number = numbers[route.kind] else {
            return try await StepPages.method(req, subject, flow: methodFlow, chosen: nil,
                                                      problem: StepPages.noMethodChosen)
        }
        try await req.rateLimit(.codeSend, account: rateKey)
        let outcome = try await VerificationCodes.send(to: number, by: route.method, codes(nil))
        if outcome == .sent { return req.redirect(to: codeFlow.codePath()) }
        return try await StepPages.method(req, subject, flow: methodFlow, chosen: route,
                                                  problem: StepPages.problem(outcome, req: req))
    }

    func codePage(_ req: Request) async throws -> Response {
        let notice = req.query[String.self, at: "sent"] == "again" ? "We sent a new code. The previous code no longer works." : nil
        return try await StepPages.code(req, subject, flow: codeFlow, notice: notice, problem: nil)
    }

    /// Continue on Enter code. A right code is a step-up: the new session id is drawn first, so
    /// the code binds what follows to the session it becomes (`verified`'s token).
    func check(_ req: Request, code: String?, verified: (SessionToken) async throws -> Response) async throws -> Response {
        try await req.rateLimit(.codeCheck, account: rateKey)
        let token = SessionToken()
        let outcome = try await VerificationCodes.check(String((code ?? "").prefix(64)), codes(token.idHash))
        guard let problem = StepPages.problem(outcome, req: req) else { return try await verified(token) }
        return try await StepPages.code(req, subject, flow: codeFlow, notice: nil, problem: problem)
    }

    /// Re-Send Code: a new code the same way as the last one; the previous code stops working.
    func resend(_ req: Request) async throws -> Response {
        guard let route = subject.lastRoute, let number = numbers[route.kind] else { return req.redirect(to: methodFlow.methodPath) }
        try await req.rateLimit(.codeSend, account: rateKey)
        let outcome = try await VerificationCodes.send(to: number, by: route.method, codes(nil))
        if outcome == .sent { return req.redirect(to: codeFlow.codePath(sentAgain: true)) }
        return try await StepPages.code(req, subject, flow: codeFlow, notice: nil,
                                                problem: StepPages.problem(outcome, req: req))
    }
}

extension StepPages.Flow {
    /// The code page, with the page to return to (a sign-in's) and the "sent again" notice.
    func codePath(sentAgain: Bool = false) -> Paths { .code(flow, sentAgain: sentAgain, next: next) }

    var methodPath: Paths { .codeMethod(flow, next: next) }
}
