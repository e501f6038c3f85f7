import CaseTalkCore
import CaseTalkViews
import Vapor

/// **Practice** (SPEC §9): a practice admin's view of their own practice's staff. Anyone else
/// signed in as staff gets 404, as for anything not theirs to see.
struct PracticeController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("practice", use: practice)
        routes.post("practice", "staff", ":staffID", "unlock", use: unlock)
    }

    func practice(req: Request) async throws -> Response {
        let admin = try req.requirePracticeAdmin()
        let now = req.now
        let staff = try await AccountsTable.staff(ofPractice: admin.practiceID, on: req.db).map { member in
            PracticeModel.Member(id: member.id, name: member.name, email: member.email, role: StaffRole(rawValue: member.role)?.label ?? member.role,
                                 isAdmin: member.isAdmin, status: (member.lockedUntil.map { $0 > now } ?? false) ? "Locked" : "Active",
                                 twoStep: member.totpEnabledAt == nil ? "Not set up" : "On",
                                 lastSignIn: member.lastSignInAt.map(CaseViews.display) ?? "Never",
                                 locked: member.lockedUntil.map { $0 > now } ?? false)
        }
        let notice = req.query[String.self, at: "unlocked"] == "1" ? "The account was unlocked: its owner can sign in again." : nil
        return req.page(PracticeView.render(PracticeModel(chrome: try req.staffChrome("Practice", notice: notice),
                                                          practiceName: admin.practiceName, staff: staff)))
    }

    /// **Unlock** (SPEC §9): lifts a colleague's sign-in lock, in the admin's own practice only
    /// (the statement's own condition); audited. Anyone else's id, or no such id: 404.
    func unlock(req: Request) async throws -> Response {
        let admin = try req.requirePracticeAdmin()
        guard let staffID = req.parameters.get("staffID", as: UUID.self) else { throw PublicError.notFound }
        let use = req.useCase
        let unlocked = try await use.db.transaction { tx in
            guard try await AccountsTable.unlockStaff(staffID, practiceID: admin.practiceID, now: use.now, on: tx) else { return false }
            try await Audit.record(.staffUnlocked, actor: .staff(admin.id), subject: "staff:\(staffID)", clientAddress: use.clientAddress,
                                   at: use.now, key: use.services.auditKey, on: tx)
            return true
        }
        if !unlocked, try await !AccountsTable.staff(ofPractice: admin.practiceID, on: req.db).contains(where: { $0.id == staffID }) {
            throw PublicError.notFound
        }
        return req.redirect(to: .practice(unlocked: unlocked))
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
