import CaseTalkCore
import Fluent
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
struct RequireStaffMiddleware: AsyncMiddleware {
    func respond(to req: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard case .staff(let id)? = req.session?.principal,
              let user = try await StaffUser.query(on: req.db).filter(\.$id == id).with(\.$practice).first()
        else { return req.redirectToSignIn() }
        req.storage[SignedInStaffKey.self] = SignedInStaff(
            id: try user.requireID(), practiceID: user.$practice.id, name: user.name,
            practiceName: user.practice.name, isAdmin: user.isAdmin)
        return try await next.respond(to: req)
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
