import CaseTalkCore
import CaseTalkViews
import Vapor

/// The registration's own pages (date of birth, phone numbers, Terms of Use, an existing
/// account); the code and password steps it shares with a reset and a sign-in are `StepPages`.
enum RegistrationPages {
    typealias Flow = StepPages.Flow
    typealias Problem = StepPages.Problem

    // MARK: Rendering

    static func birthDate(_ req: Request, _ state: PatientRegistration.State, value: String, problem: Problem?) async throws -> Response {
        let flow = Flow.registration(.birthDate, state.progress)
        return StepPages.send(req, BirthDateView.render(BirthDateModel(
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

    static func terms(_ req: Request, _ state: PatientRegistration.State, error: String?) async throws -> Response {
        let terms = req.caseTalk.termsOfUse
        let flow = Flow.registration(.terms, state.progress)
        return req.page(TermsView.render(TermsModel(chrome: flow.chrome(req, heading: RegistrationStep.terms.title),
                                                    steps: StepsModel(.terms, of: flow.list),
                                                    version: terms.version, sections: terms.sections, error: error)),
                        status: error == nil ? .ok : .unprocessableEntity)
    }

    /// SPEC §3: an account already has this address — Sign In to accept. The sign-in page fills
    /// in the address from the session.
    static func existing(_ req: Request, memberName: String, practiceName: String, signedIn: Bool) -> Response {
        req.page(ExistingAccountView.render(ExistingAccountModel(
            chrome: PageChrome(title: "Sign In to accept", csrf: req.session?.csrfToken),
            memberName: memberName, practiceName: practiceName, signedIn: signedIn)))
    }
}
