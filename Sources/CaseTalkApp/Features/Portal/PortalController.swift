import CaseTalkCore
import CaseTalkViews
import Fluent
import SQLKit
import Vapor

/// The patient's dashboard after signing in (SPEC §4): **Secure Inbox** with the unread count, and
/// the practices and cases they have joined.
struct PortalController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("portal", use: home)
    }

    func home(req: Request) async throws -> Response {
        let patient = try req.requirePatient()
        struct Row: Decodable { let practice_name: String; let title: String; let joined_at: Date }
        // Only the signed-in patient's own cases, chosen in the query.
        let rows = try await req.db.sql.select()
            .column(SQLColumn("name", table: "practices"), as: "practice_name")
            .column(SQLColumn("title", table: "cases"))
            .column(SQLColumn("joined_at", table: "case_patients"))
            .from("case_patients")
            .join("cases", on: SQLColumn("id", table: "cases"), .equal, SQLColumn("case_id", table: "case_patients"))
            .join("practices", on: SQLColumn("id", table: "practices"), .equal, SQLColumn("practice_id", table: "cases"))
            .where(SQLColumn("patient_id", table: "case_patients"), .equal, SQLBind(patient.id))
            .orderBy(SQLColumn("joined_at", table: "case_patients"), SQLDirection.descending)
            .limit(200)
            .all(decoding: Row.self)
        struct Unread: Decodable { let unread: Int? }
        let unread = try await req.db.sql.select()
            // SUM of a bigint is numeric on PostgreSQL: cast back to an integer on both engines.
            .column(SQLRaw("CAST(SUM(conversations.patient_unread) AS INTEGER)"), as: "unread")
            .from(Conversation.schema)
            .join(CasePatient.schema, on: SQLColumn("case_id", table: CasePatient.schema), .equal, SQLColumn("case_id", table: Conversation.schema))
            .where(SQLColumn("patient_id", table: CasePatient.schema), .equal, SQLBind(patient.id))
            .first(decoding: Unread.self)?.unread ?? 0
        let notice = req.query[String.self, at: "joined"] == "1"
            ? "The invitation is accepted: its case is now part of your account." : nil
        return req.page(PortalView.render(PortalModel(
            chrome: try req.patientChrome("Your CaseTalk", notice: notice),
            cases: rows.map { .init(practiceName: $0.practice_name, title: $0.title, joined: CaseViews.display($0.joined_at)) },
            unread: unread)))
    }
}
