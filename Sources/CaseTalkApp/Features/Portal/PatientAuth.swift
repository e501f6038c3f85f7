import CaseTalkCore
import Vapor

/// The signed-in patient, as the portal pages need them.
struct SignedInPatient: Sendable {
    let id: UUID
    let name: String
}

/// Admits signed-in patients only; anyone else is sent to sign in.
struct RequirePatientMiddleware: Middleware {
    func respond(to req: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        // The session brought the patient along (see `SessionMiddleware`).
        guard case .patient(let person)? = req.session?.person else { return req.eventLoop.makeSucceededFuture(req.redirectToSignIn()) }
        req.storage[SignedInPatientKey.self] = person
        return next.respond(to: req)
    }
}

private struct SignedInPatientKey: StorageKey { typealias Value = SignedInPatient }

extension Request {
    func requirePatient() throws -> SignedInPatient {
        guard let patient = storage[SignedInPatientKey.self] else { throw Abort(.unauthorized) }
        return patient
    }

    /// The chrome for a page seen by the signed-in patient.
    func patientChrome(_ title: String, notice: String? = nil) throws -> PageChrome {
        PageChrome(title: title, csrf: session?.csrfToken, userName: try requirePatient().name, notice: notice, isPatient: true)
    }
}
