import CaseTalkCore
import CaseTalkViews
import Vapor

/// **Practice** (SPEC §9): a practice admin's view of their own practice's staff. Anyone else
/// signed in as staff gets 404, as for anything not theirs to see.
struct PracticeController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("practice", use: practice)
    }

    func practice(req: Request) async throws -> Response {
        let admin = try req.requirePracticeAdmin()
        let now = req.now
        let staff = try await AccountsTable.staff(ofPractice: admin.practiceID, on: req.db).map { member in
            PracticeModel.Member(name: member.name, email: member.email, role: StaffRole(rawValue: member.role)?.label ?? member.role,
                                 isAdmin: member.isAdmin, status: (member.lockedUntil.map { $0 > now } ?? false) ? "Locked" : "Active",
                                 twoStep: member.totpEnabledAt == nil ? "Not set up" : "On",
                                 lastSignIn: member.lastSignInAt.map(CaseViews.display) ?? "Never")
        }
        return req.page(PracticeView.render(PracticeModel(chrome: try req.staffChrome("Practice"), practiceName: admin.practiceName,
                                                          staff: staff)))
    }
}

extension Request {
    /// The signed-in staff member, only if an admin of their practice; anyone else: 404.
    func requirePracticeAdmin() throws -> SignedInStaff {
        let staff = try requireStaff()
        guard staff.isAdmin else { throw PublicError.notFound }
        return staff
    }
}
