import CaseTalkCore
import CaseTalkViews
import Fluent
import Foundation
import Vapor

/// The development mailbox (SPEC §6): without SMTP_URL (or Twilio settings), and never in
/// production, emails, texts and calls are kept here and shown at `/dev/mailbox`.
final class DevMailboxItem: Model, @unchecked Sendable {
    static let schema = "dev_mailbox"

    @ID(key: .id) var id: UUID?
    /// `email`, `sms` or `call`.
    @Field(key: "kind") var kind: String
    @Field(key: "recipient") var recipient: String
    @Field(key: "subject") var subject: String
    @Field(key: "text_body") var textBody: String
    @Field(key: "html_body") var htmlBody: String
    @Field(key: "created_at") var createdAt: Date

    init() {}
    init(kind: String, recipient: String, subject: String, text: String, html: String, createdAt: Date) {
        self.kind = kind; self.recipient = recipient; self.subject = subject
        self.textBody = text; self.htmlBody = html; self.createdAt = createdAt
    }
}

/// Delivers into the development mailbox.
struct DevMailboxMailer: Mailer {
    let database: @Sendable () -> any Database
    let clock: AppClock

    func send(_ messages: [EmailMessage]) async -> [DeliveryOutcome] {
        var outcomes: [DeliveryOutcome] = []
        for message in messages {
            do {
                try await DevMailboxItem(kind: "email", recipient: message.to, subject: message.subject,
                                         text: message.text, html: message.html, createdAt: clock.now()).create(on: database())
                outcomes.append(.sent)
            } catch {
                outcomes.append(.retry(reason: "the development mailbox could not be written"))
            }
        }
        return outcomes
    }
}

/// `/dev/mailbox`: registered only when the development mailbox is in use.
struct DevMailboxController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let mailbox = routes.grouped("dev", "mailbox")
        mailbox.get(use: list)
        mailbox.get(":itemID", use: show)
        mailbox.get(":itemID", "html", use: html)
    }

    func list(req: Request) async throws -> Response {
        let items = try await DevMailboxItem.query(on: req.db).sort(\.$createdAt, .descending).limit(200).all()
        return req.page(MailboxView.render(MailboxModel(
            chrome: PageChrome(title: "Development mailbox"), codes: try await demoCodes(req), items: items.map(Self.item))))
    }

    private func demoCodes(_ req: Request) async throws -> [MailboxModel.DemoCode] {
        let emails = DemoData.people.map(\.email)
        let staff = try await StaffUser.query(on: req.db).filter(\.$email ~~ emails).filter(\.$totpKey != nil).all()
        return try staff.sorted { emails.firstIndex(of: $0.email)! < emails.firstIndex(of: $1.email)! }.map { person in
            MailboxModel.DemoCode(email: person.email, code: try StaffTwoStep.usableCode(key: person.totpKey!, lastStep: person.totpLastStep,
                                                                           staffID: try person.requireID(), sealer: req.caseTalk.sealer,
                                                                           now: req.now))
        }
    }

    func show(req: Request) async throws -> Response {
        let item = try await find(req)
        return req.page(MailboxItemView.render(MailboxItemModel(
            chrome: PageChrome(title: item.subject), item: Self.item(item), text: item.textBody)))
    }

    /// The HTML part as sent, under the site's strict Content-Security-Policy (no script, no
    /// inline style, nothing loaded from elsewhere).
    func html(req: Request) async throws -> Response {
        let item = try await find(req)
        let response = Response(status: .ok, body: .init(string: item.htmlBody))
        response.headers.contentType = .html
        return response
    }

    private func find(_ req: Request) async throws -> DevMailboxItem {
        guard let id = req.parameters.get("itemID", as: UUID.self), let item = try await DevMailboxItem.find(id, on: req.db) else {
            throw PublicError.notFound
        }
        return item
    }

    static func item(_ model: DevMailboxItem) -> MailboxItem {
        MailboxItem(id: model.id ?? UUID(), kind: model.kind, recipient: model.recipient, subject: model.subject,
             createdAt: ShownZone.utc.display(model.createdAt))
    }
}
