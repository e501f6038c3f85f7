import CaseTalkCore
import CaseTalkViews
import Fluent
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
        routes.on(.POST, "uploads", "inbox", ":conversationID", body: .stream, use: replyWithFiles)
        routes.on(.POST, "uploads", "inbox", ":conversationID", "files", body: .stream, use: sendFileAhead)
    }

    func list(req: Request) async throws -> Response {
        let patient = try req.requirePatient()
        let page = max(1, min(req.query[Int.self, at: "page"] ?? 1, 10_000))
        let rows = try await ConversationsTable.inbox(patientID: patient.id, limit: Self.pageSize + 1,
                                                      offset: (page - 1) * Self.pageSize, on: req.db)
        return req.page(InboxView.render(InboxModel(
            chrome: try req.patientChrome("Secure Inbox"),
            conversations: rows.prefix(Self.pageSize).map {
                .init(id: $0.id, practiceName: $0.practiceName, memberName: $0.memberName, caseTitle: $0.caseTitle,
                      lastActivity: ShownZone(stored: $0.practiceTimeZone).display($0.lastMessageAt), unread: $0.patientUnread)
            },
            previousPage: page > 1 ? page - 1 : nil, nextPage: rows.count > Self.pageSize ? page + 1 : nil)))
    }

    func thread(req: Request) async throws -> Response {
        let (patient, conversation) = try await scoped(req)
        return try await render(req, patient, conversation, draft: "", error: nil)
    }

    /// **Send**: the reply lands in this member's Patient Talk only.
    func reply(req: Request) async throws -> Response {
        try await send(req, try await scoped(req), Uploads.Received(Conversations.SendForm(req)))
    }

    /// **Send** with **Attach files** (SPEC §8); the conversation is found in the patient's scope
    /// (or 404) before a byte of a file is read.
    func replyWithFiles(req: Request) async throws -> Response {
        let scope = try await scoped(req)
        guard scope.1.closedAt == nil else { return try await render(req, scope.0, scope.1, draft: "", error: nil, status: .conflict) }
        return try await send(req, scope, try await req.receiveMessageForm(staff: false))
    }

    /// One file of the reply, sent ahead by the page's script so that a failed one can be sent
    /// again alone; **Send** then names it. It counts against the patient's files a day now.
    func sendFileAhead(req: Request) async throws -> Response {
        let (patient, conversation) = try await scoped(req)
        guard conversation.closedAt == nil else { throw Abort(.conflict, reason: "This conversation is closed: it takes no reply.") }
        try await req.rateLimit(.messageSend, account: .patient(patient.id))
        return try await req.receiveFileSentAhead(staff: false) { file in
            try await Attachments.countAgainstDailyLimit(1, patientID: patient.id, limits: req.caseTalk.attachmentLimits(staff: false),
                                                         req.useCase)
            try await Attachments.sendAhead(file, by: .patient, caseID: conversation.caseId, memberID: conversation.memberId,
                                            actor: .patient(patient.id), req.useCase)
        }
    }

    private func send(_ req: Request, _ scope: (SignedInPatient, ConversationsTable.ForPatient), _ form: Uploads.Received) async throws -> Response {
        let (patient, conversation) = scope
        // A closed conversation (SPEC §9) takes no reply; its page says whom to contact.
        guard conversation.closedAt == nil else {
            return try await render(req, patient, conversation, draft: "", error: nil, status: .conflict)
        }
        let limits = req.caseTalk.attachmentLimits(staff: false)
        let idempotencyKey = Conversations.idempotencyKey(form.field("idempotency_key"))
        let outcome = try await Uploads.submit(form, limits: limits, store: req.caseTalk.attachments) { text, files, ahead in
            try await req.rateLimit(.messageSend, account: .patient(patient.id))
            try await Attachments.requireWaiting(ahead, conversationID: conversation.id, author: .patient,
                                                 idempotencyKey: idempotencyKey, on: req.db)
            // Files sent ahead were counted as they came.
            try await Attachments.countAgainstDailyLimit(files.count, patientID: patient.id, limits: limits, req.useCase)
            try await Conversations.send(text, files: files, sentAhead: ahead, by: .patient, caseID: conversation.caseId,
                                         memberID: conversation.memberId, idempotencyKey: idempotencyKey,
                                         actor: .patient(patient.id), req.useCase)
        }
        guard case .refused(let messageError, let fileErrors, let status) = outcome else {
            return req.answerSent(to: .conversation(conversation.id, sent: true))
        }
        return try await render(req, patient, conversation, draft: String((form.field("body") ?? "").prefix(Conversations.maxLength)),
                                error: messageError, fileErrors: fileErrors, status: status)
    }

    private func scoped(_ req: Request) async throws -> (SignedInPatient, ConversationsTable.ForPatient) {
        let patient = try req.requirePatient()
        guard let id = req.parameters.get("conversationID", as: UUID.self),
              let conversation = try await Conversations.forPatient(id, patientID: patient.id, on: req.db) else {
            throw PublicError.notFound
        }
        return (patient, conversation)
    }

    private func render(_ req: Request, _ patient: SignedInPatient, _ conversation: ConversationsTable.ForPatient, draft: String,
                        error: String?, fileErrors: [String] = [], status: HTTPResponseStatus = .ok) async throws -> Response {
        let notice = req.query[String.self, at: "sent"] == "1" ? "Your reply was sent." : nil
        let handovers = try await HandoversTable.of(conversation.id, on: req.db)
        let thread = try await Conversations.open(conversation.id, as: .patient, names: (conversation.memberName, patient.name),
                                                  zone: ShownZone(stored: conversation.practiceTimeZone),
                                                  handovers: handovers, page: req.query[Int.self, at: "page"] ?? 1,
                                                  actor: .patient(patient.id), req.useCase)
        let closed = conversation.closedAt.map { _ in
            "\(conversation.memberOwnName) is no longer available here. Please contact \(conversation.practiceName)."
        }
        return req.page(InboxThreadView.render(InboxThreadModel(
            chrome: try req.patientChrome("Secure Inbox · \(conversation.memberName)", notice: notice),
            id: conversation.id, memberName: conversation.memberName, practiceName: conversation.practiceName,
            caseTitle: conversation.caseTitle, thread: thread, sendKey: SecureRandom.token(), draft: draft, error: error,
            fileErrors: fileErrors, readBy: handovers.last.map { "Your messages here are now read by \($0.toName)." }, closed: closed)),
                        status: status)
    }
}
