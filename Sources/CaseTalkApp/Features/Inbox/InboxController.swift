import CaseTalkCore
import CaseTalkViews
import Fluent
import SQLKit
import Vapor

/// The patient's **Secure Inbox** (SPEC §4): their conversations, newest activity first, each
/// opening to its thread with a reply box. Only conversations on cases joined to the signed-in
/// patient's account, chosen in the query; any other id answers 404.
struct InboxController: RouteCollection {
    static let pageSize = 20

    func boot(routes: any RoutesBuilder) throws {
        routes.get("inbox", use: list)
        routes.get("inbox", ":conversationID", use: thread)
        routes.post("inbox", ":conversationID", use: reply)
    }

    func list(req: Request) async throws -> Response {
        let patient = try req.requirePatient()
        let page = max(1, min(req.query[Int.self, at: "page"] ?? 1, 10_000))
        struct Row: Decodable { let id: UUID; let practice_name: String; let member_name: String; let title: String
                                let last_message_at: Date; let patient_unread: Int }
        let rows = try await req.db.sql.raw("""
            SELECT conversations.id, practices.name AS practice_name, staff_users.name AS member_name, cases.title,
                   conversations.last_message_at, conversations.patient_unread
            FROM conversations
            JOIN case_patients ON case_patients.case_id = conversations.case_id AND case_patients.patient_id = conversations.patient_id
            JOIN cases ON cases.id = conversations.case_id
            JOIN staff_users ON staff_users.id = conversations.member_id
            JOIN practices ON practices.id = staff_users.practice_id
            WHERE conversations.patient_id = \(bind: patient.id)
            ORDER BY conversations.last_message_at DESC, conversations.id ASC
            LIMIT \(literal: Self.pageSize + 1) OFFSET \(literal: (page - 1) * Self.pageSize)
            """).all(decoding: Row.self)
        return req.page(InboxView.render(InboxModel(
            chrome: try req.patientChrome("Secure Inbox"),
            conversations: rows.prefix(Self.pageSize).map {
                .init(id: $0.id, practiceName: $0.practice_name, memberName: $0.member_name, caseTitle: $0.title,
                      lastActivity: CaseViews.display($0.last_message_at), unread: $0.patient_unread)
            },
            previousPage: page > 1 ? page - 1 : nil, nextPage: rows.count > Self.pageSize ? page + 1 : nil)))
    }

    func thread(req: Request) async throws -> Response {
        let (patient, conversation) = try await scoped(req)
        return try await render(req, patient, conversation, draft: "", error: nil)
    }

    /// **Send**: the reply lands in this member's Patient Talk only.
    func reply(req: Request) async throws -> Response {
        let (patient, conversation) = try await scoped(req)
        let form = Conversations.SendForm(req)
        do {
            let text = try Conversations.body(form.body)
            try await req.rateLimit(.messageSend, account: "patient:\(patient.id)")
            try await Conversations.send(text, by: .patient, caseID: conversation.case_id, memberID: conversation.member_id,
                                         idempotencyKey: Conversations.idempotencyKey(form.idempotencyKey),
                                         actor: .patient(patient.id), req: req)
        } catch let error as ValidationError {
            return try await render(req, patient, conversation, draft: String((form.body ?? "").prefix(Conversations.maxLength)),
                                    error: error.message, status: .unprocessableEntity)
        }
        return req.redirect(to: .conversation(conversation.id, sent: true))
    }

    private func scoped(_ req: Request) async throws -> (SignedInPatient, Conversations.PatientView) {
        let patient = try req.requirePatient()
        guard let id = req.parameters.get("conversationID", as: UUID.self),
              let conversation = try await Conversations.forPatient(id, patientID: patient.id, on: req.db) else {
            throw PublicError.notFound
        }
        return (patient, conversation)
    }

    private func render(_ req: Request, _ patient: SignedInPatient, _ conversation: Conversations.PatientView, draft: String,
                        error: String?, status: HTTPResponseStatus = .ok) async throws -> Response {
        let notice = req.query[String.self, at: "sent"] == "1" ? "Your reply was sent." : nil
        return try await Conversations.open(conversation.id, as: .patient, names: (conversation.member_name, patient.name),
                                            page: req.query[Int.self, at: "page"] ?? 1, actor: .patient(patient.id), req: req) { thread in
            req.page(InboxThreadView.render(InboxThreadModel(
                chrome: try req.patientChrome("Secure Inbox · \(conversation.member_name)", notice: notice),
                id: conversation.id, memberName: conversation.member_name, practiceName: conversation.practice_name,
                caseTitle: conversation.case_title, thread: thread, sendKey: SecureRandom.token(), draft: draft, error: error)), status: status)
        }
    }
}
