import CaseTalkCore
import Vapor

/// The signed-in staff user, as the staff pages need them.
struct SignedInStaff: Sendable {
    let id: UUID
    let practiceID: UUID
    let name: String
    let practiceName: String
    let isAdmin: Bool
}

/// Admits signed-in staff only. A visitor without a staff session is sent to sign in, with the
/// page they asked for remembered as a relative path.
struct RequireStaffMiddleware: Middleware {
    func respond(to req: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        // The session brought the staff user along (see `SessionMiddleware`).
        guard case .staff(let person)? = req.session?.person else { return req.eventLoop.makeSucceededFuture(req.redirectToSignIn()) }
        req.storage[SignedInStaffKey.self] = person
        return next.respond(to: req)
    }
}

private struct SignedInStaffKey: StorageKey { typealias Value = SignedInStaff }

extension Request {
    /// To the sign-in page, with the page asked for remembered as a relative path.
    func redirectToSignIn() -> Response {
        var target = "/login"
        if method == .GET, let next = SafeRedirect.validate(url.path) {
            target += "?next=" + (next.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "/-_"))) ?? "")
        }
        return redirect(to: target)
    }

    func requireStaff() throws -> SignedInStaff {
        guard let staff = storage[SignedInStaffKey.self] else { throw Abort(.unauthorized) }
        return staff
    }
}
