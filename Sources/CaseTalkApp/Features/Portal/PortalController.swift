import CaseTalkCore
import CaseTalkViews
import Fluent
import Vapor

/// The patient's dashboard after signing in (SPEC §4): **Secure Inbox** with the unread count, and
/// the practices and cases they have joined.
struct PortalController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("portal", use: home)
    }

    func home(req: Request) async throws -> Response {
        let patient = try req.requirePatient()
        // Only the signed-in patient's own cases and conversations, chosen in the queries.
        let rows = try await CasesTable.casesOf(patient: patient.id, limit: 200, on: req.db)
        let unread = try await ConversationsTable.unread(patientID: patient.id, on: req.db)
        let notice = req.query[String.self, at: "joined"] == "1"
            ? "The invitation is accepted: its case is now part of your account." : nil
        return req.page(PortalView.render(PortalModel(
            chrome: try req.patientChrome("Your CaseTalk", notice: notice),
            cases: rows.map { .init(practiceName: $0.practiceName, title: $0.title, joined: ShownZone(stored: $0.practiceTimeZone).display($0.joinedAt)) },
            unread: unread)))
    }
}
