import CaseTalkCore
import Fluent
import SQLKit
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
        struct Row: Decodable { let practice_id: UUID; let name: String; let practice_name: String; let is_admin: Bool }
        guard case .staff(let id)? = req.session?.principal,
              let user = try await req.db.sql.select()
                .column(SQLColumn("practice_id", table: StaffUser.schema))
                .column(SQLColumn("name", table: StaffUser.schema))
                .column(SQLColumn("name", table: Practice.schema), as: "practice_name")
                .column(SQLColumn("is_admin", table: StaffUser.schema))
                .from(StaffUser.schema)
                .join(Practice.schema, on: SQLColumn("id", table: Practice.schema), .equal, SQLColumn("practice_id", table: StaffUser.schema))
                .where(SQLColumn("id", table: StaffUser.schema), .equal, SQLBind(id))
                .first(decoding: Row.self)
        else { return req.redirectToSignIn() }
        req.storage[SignedInStaffKey.self] = SignedInStaff(
            id: id, practiceID: user.practice_id, name: user.name, practiceName: user.practice_name, isAdmin: user.is_admin)
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
