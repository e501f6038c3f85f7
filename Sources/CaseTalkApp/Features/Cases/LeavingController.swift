import CaseTalkCore
import CaseTalkViews
import Vapor

/// **Leave this case** and **Remove from case** (SPEC §9): a member leaves a case, or an admin of
/// the case's own practice (on the case) removes one. Their open Patient Talk there is handed to
/// a colleague of their practice or closed first; the case's own practice keeps a member. Anyone
/// else, or a person not on the case: 404.
struct LeavingController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("cases", ":caseID", "members", ":staffID", "remove", use: page)
        routes.post("cases", ":caseID", "members", ":staffID", "remove", use: remove)
    }

    /// Who leaves, from where, and their open talk on the case, within the viewer's rights.
    private struct Scope {
        let staff: SignedInStaff
        let patientCase: PatientCase
        let caseID: UUID
        let member: AccountsTable.StaffMember
        /// The member's practice: their talk stays within it.
        let practiceID: UUID
        let talk: Departures.Talk?
        var isSelf: Bool { member.id == staff.id }
    }

    private func scope(_ req: Request) async throws -> Scope {
        let (staff, patientCase) = try await req.memberCase()
        let caseID = try patientCase.requireID()
        guard let staffID = req.parameters.get("staffID", as: UUID.self),
              staffID == staff.id || (staff.isAdmin && patientCase.isOwned(by: staff)),
              try await CasesTable.members(of: caseID, on: req.db).contains(where: { $0.id == staffID }),
              let practiceID = try await StaffUser.find(staffID, on: req.db)?.$practice.id,
              let (member, talks) = try await Departures.talks(of: staffID, practiceID: practiceID, on: req.db) else {
            throw PublicError.notFound
        }
        return Scope(staff: staff, patientCase: patientCase, caseID: caseID, member: member, practiceID: practiceID,
                     talk: talks.first { $0.caseID == caseID })
    }

    func page(req: Request) async throws -> Response {
        try render(req, try await scope(req), choice: "", error: nil)
    }

    func remove(req: Request) async throws -> Response {
        let scope = try await scope(req)
        let choice = req.formField("talk") ?? ""
        var talk: (id: UUID, decision: Departures.Decision)? = nil
        if let open = scope.talk {
            if choice == "close" {
                talk = (open.id, .close)
            } else if let taker = UUID(uuidString: choice), open.takers.contains(where: { $0.id == taker }) {
                talk = (open.id, .handOver(to: taker))
            } else {
                return try render(req, scope, choice: "", error: "Choose who continues the Patient Talk, or Close it.", status: .badRequest)
            }
        }
        switch try await Departures.leave(scope.caseID, staffID: scope.member.id, practiceID: scope.practiceID, talk: talk, by: scope.staff.id,
                                          req.useCase) {
        case .left:
            return req.redirect(to: scope.isSelf ? .cases(left: true) : .caseOverview(scope.caseID, done: .memberRemoved))
        case .lastOfPractice:
            return try render(req, scope, choice: choice,
                              error: "\(scope.patientCase.practice.name) must keep a member on this case: add a colleague first, or hand the Patient Talk to one.",
                              status: .conflict)
        case .talkChanged:
            return try render(req, scope, choice: "", error: "The Patient Talk changed meanwhile: choose again.", status: .conflict)
        }
    }

    private func render(_ req: Request, _ scope: Scope, choice: String, error: String?, status: HTTPResponseStatus = .ok) throws -> Response {
        let title = scope.isSelf ? "Leave this case" : "Remove \(scope.member.name) from case"
        return req.page(LeaveCaseView.render(LeaveCaseModel(
            chrome: try req.staffChrome("\(title) · \(scope.patientCase.patientName)"), header: CaseViews.header(scope.patientCase, tab: .overview),
            memberID: scope.member.id, memberName: scope.member.name, isSelf: scope.isSelf,
            takers: scope.talk.map { $0.takers.map { .init(id: $0.id, name: $0.name) } }, choice: choice, error: error)), status: status)
    }
}
