import CaseTalkCore
import Vapor

/// The signed-in staff user, as the staff pages need them.
struct SignedInStaff: Sendable {
    let id: UUID
    let practiceID: UUID
    let name: String
    let practiceName: String
    let isAdmin: Bool
    /// Their practice's time zone: dates of their own practice are shown in it (SPEC §9).
    let zone: ShownZone
}

/// Admits signed-in staff only. A visitor without a staff session is sent to sign in, with the
/// page they asked for remembered as a relative path.
struct RequireStaffMiddleware: Middleware {
    func respond(to req: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        // The session brought the staff user along (see `SessionMiddleware`).
        guard case .staff? = req.session?.person else { return req.eventLoop.makeSucceededFuture(req.redirectToSignIn()) }
        return next.respond(to: req)
    }
}

extension Request {
    /// To the sign-in page, with the page asked for remembered as a relative path.
    func redirectToSignIn() -> Response {
        redirect(to: .signIn(next: method == .GET ? SafeRedirect.validate(url.path) : nil))
    }

    func requireStaff() throws -> SignedInStaff {
        guard case .staff(let staff)? = session?.person else { throw Abort(.unauthorized) }
        return staff
    }
}
