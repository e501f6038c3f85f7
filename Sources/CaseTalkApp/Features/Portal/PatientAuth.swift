import CaseTalkCore
import CaseTalkViews
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
        guard case .patient? = req.session?.person else { return req.eventLoop.makeSucceededFuture(req.redirectToSignIn()) }
        return next.respond(to: req)
    }
}

extension Request {
    func requirePatient() throws -> SignedInPatient {
        guard case .patient(let patient)? = session?.person else { throw Abort(.unauthorized) }
        return patient
    }

    /// The chrome for a page seen by the signed-in patient.
    func patientChrome(_ title: String, notice: String? = nil) throws -> PageChrome {
        PageChrome(title: title, csrf: session?.csrfToken, userName: try requirePatient().name, notice: notice, isPatient: true)
    }
}
