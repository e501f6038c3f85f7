import CaseTalkCore
import Fluent
import SQLKit
import Vapor

/// The patient's **Secure Inbox** (SPEC §4): their conversations, newest activity first, each
/// opening to its thread with a reply box. Only conversations on cases joined to the signed-in
/// patient's account, chosen in the query; any other id answers 404.
struct InboxController: RouteCollection {
    static let pageSize = 20

    struct ListPage: Encodable {
        struct Row: Encodable {
            let id: String; let practiceName: String; let memberName: String; let caseTitle: String; let lastActivity: String
            /// "2 unread", or nil. Conditions in templates are Bools and values are strings: LeafKit converts
            /// anything else at every use, which was a tenth of a Secure Inbox page.
            let unread: String?
            let isUnread: Bool
            init(id: String, practiceName: String, memberName: String, caseTitle: String, lastActivity: String, unread: Int) {
                self.id = id; self.practiceName = practiceName; self.memberName = memberName; self.caseTitle = caseTitle
                self.lastActivity = lastActivity; self.unread = unread > 0 ? "\(unread) unread" : nil; self.isUnread = unread > 0
            }
        }
        let chrome: PageChrome
        let conversations: [Row]
        let hasConversations: Bool
        let previousPage: Int?
        let nextPage: Int?
    }

    struct ThreadPage: Encodable {
        let chrome: PageChrome
        let id: String
        let memberName: String
        let practiceName: String
        let caseTitle: String
        let thread: Conversations.Thread
        /// A new key for each rendered reply form (see `Conversations.send`).
        let sendKey: String
        let draft: String
        let error: String?
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.get("inbox", use: list)
        routes.get("inbox", ":conversationID", use: thread)
        routes.post("inbox", ":conversationID", use: reply)
    }

    func list(req: Request) async throws -> View {
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
        return try await req.view.render("inbox/index", ListPage(
            chrome: try req.patientChrome("Secure Inbox"),
            conversations: rows.prefix(Self.pageSize).map {
                .init(id: $0.id.uuidString, practiceName: $0.practice_name, memberName: $0.member_name, caseTitle: $0.title,
                      lastActivity: CaseViews.display($0.last_message_at), unread: $0.patient_unread)
            },
            hasConversations: !rows.isEmpty,
            previousPage: page > 1 ? page - 1 : nil, nextPage: rows.count > Self.pageSize ? page + 1 : nil))
    }

    func thread(req: Request) async throws -> View {
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
            let response = try await render(req, patient, conversation, draft: String((form.body ?? "").prefix(Conversations.maxLength)),
                                            error: error.message).encodeResponse(for: req)
            response.status = .unprocessableEntity
            return response
        }
        return req.redirect(to: "/inbox/\(conversation.id)?sent=1")
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
                        error: String?) async throws -> View {
        let notice = req.query[String.self, at: "sent"] == "1" ? "Your reply was sent." : nil
        return try await Conversations.open(conversation.id, as: .patient, names: (conversation.member_name, patient.name),
                                            page: req.query[Int.self, at: "page"] ?? 1, actor: .patient(patient.id), req: req) { thread in
            try await req.view.render("inbox/thread", ThreadPage(
                chrome: try req.patientChrome("Secure Inbox · \(conversation.member_name)", notice: notice),
                id: conversation.id.uuidString, memberName: conversation.member_name, practiceName: conversation.practice_name,
                caseTitle: conversation.case_title, thread: thread, sendKey: SecureRandom.token(), draft: draft, error: error))
        }
    }
}
