import CaseTalkCore
import Foundation

/// The patient's **Secure Inbox** list (SPEC §4).
public struct InboxModel: Sendable {
    public struct Row: Sendable {
        public let id: UUID; public let practiceName: String; public let memberName: String; public let caseTitle: String
        public let lastActivity: String
        /// The member's messages the patient has not opened yet.
        public let unread: Int
        public init(id: UUID, practiceName: String, memberName: String, caseTitle: String, lastActivity: String, unread: Int) {
            self.id = id; self.practiceName = practiceName; self.memberName = memberName; self.caseTitle = caseTitle
            self.lastActivity = lastActivity; self.unread = unread
        }
    }
    public let chrome: PageChrome
    public let conversations: [Row]
    public let previousPage: Int?
    public let nextPage: Int?

    public init(chrome: PageChrome, conversations: [Row], previousPage: Int?, nextPage: Int?) {
        self.chrome = chrome; self.conversations = conversations
        self.previousPage = previousPage; self.nextPage = nextPage
    }
}

public enum InboxView {
    public static func render(_ model: InboxModel) -> HTML {
        let body: HTML
        if model.conversations.isEmpty {
            body = "<p class=\"empty\">No messages yet. When someone from your care team writes to you, it appears here.</p>"
        } else {
            let rows = HTML.each(model.conversations) { row in
                let unreadClass: HTML = row.unread > 0 ? " class=\"unread\"" : HTML()
                let badge: HTML = row.unread > 0 ? " <span class=\"badge\">\(number: row.unread) unread</span>" : HTML()
                return """
                <tr\(unreadClass)>
                  <td data-label="Practice">\(row.practiceName)</td>
                  <td data-label="From">\(row.memberName)\(badge)</td>
                  <td data-label="Case">\(row.caseTitle)</td>
                  <td data-label="Last message">\(row.lastActivity)</td>
                  <td><a class="button button-small" href="\(Paths.conversation(row.id))" aria-label="Open conversation with \(row.memberName)">Open</a></td>
                </tr>
                """
            }
            body = """
            <table class="table">
              <caption class="visually-hidden">Your conversations, newest activity first</caption>
              <thead><tr><th scope="col">Practice</th><th scope="col">From</th><th scope="col">Case</th><th scope="col">Last message</th><th scope="col"><span class="visually-hidden">Open</span></th></tr></thead>
              <tbody>\(rows)</tbody>
            </table>
            \(Pager.links(newer: model.previousPage.map { .inbox(page: $0) }, older: model.nextPage.map { .inbox(page: $0) }))
            """
        }
        return Layout.page(model.chrome, """
        <section class="card" aria-labelledby="inbox-heading">
          <h1 id="inbox-heading">Secure Inbox</h1>
          \(body)
        </section>
        """)
    }
}

/// One conversation of the Secure Inbox, with the reply box.
public struct InboxThreadModel: Sendable {
    public let chrome: PageChrome
    public let id: UUID
    public let memberName: String
    public let practiceName: String
    public let caseTitle: String
    public let thread: ThreadModel
    /// A new key for each rendered reply form (see `Conversations.send`).
    public let sendKey: String
    public let draft: String
    public let error: String?
    /// Why files were refused, one line each.
    public let fileErrors: [String]
    /// After a handover (SPEC §9): "Your messages here are now read by {new}.", above the reply box.
    public let readBy: String?
    /// Closed: "{old} is no longer available here. Please contact {practice}.", instead of the reply box.
    public let closed: String?

    public init(chrome: PageChrome, id: UUID, memberName: String, practiceName: String, caseTitle: String, thread: ThreadModel,
                sendKey: String, draft: String, error: String?, fileErrors: [String] = [], readBy: String? = nil, closed: String? = nil) {
        self.chrome = chrome; self.id = id; self.memberName = memberName; self.practiceName = practiceName
        self.caseTitle = caseTitle; self.thread = thread; self.sendKey = sendKey; self.draft = draft; self.error = error
        self.fileErrors = fileErrors; self.readBy = readBy; self.closed = closed
    }
}

public enum InboxThreadView {
    /// The reply box, with who reads it after a handover; or, closed, whom to contact instead.
    static func reply(_ model: InboxThreadModel) -> HTML {
        if let closed = model.closed { return "<p class=\"talk-notice\" role=\"status\">\(closed)</p>" }
        let readBy: HTML = model.readBy.map { "<p class=\"talk-notice\">\($0)</p>" } ?? HTML()
        return """
          \(readBy)
          \(ThreadView.replyForm(action: .conversationUpload(model.id), filesAhead: .conversationFiles(model.id), csrf: model.chrome.csrf, sendKey: model.sendKey,
                                 label: "Your reply", draft: model.draft, error: model.error, fileErrors: model.fileErrors))
          """
    }

    public static func render(_ model: InboxThreadModel) -> HTML {
        Layout.page(model.chrome, """
        <p><a href="\(Paths.inbox())">Secure Inbox</a></p>
        <section class="card" aria-labelledby="thread-heading">
          <h1 id="thread-heading">\(model.memberName)</h1>
          <p class="muted">\(model.practiceName) · \(model.caseTitle)</p>
          \(ThreadView.render(model.thread) { .conversation(model.id, page: $0) })
          \(reply(model))
        </section>
        """)
    }
}

/// The patient's dashboard (SPEC §4).
public struct PortalModel: Sendable {
    public struct CaseRow: Sendable {
        public let practiceName: String; public let title: String; public let joined: String
        public init(practiceName: String, title: String, joined: String) {
            self.practiceName = practiceName; self.title = title; self.joined = joined
        }
    }
    public let chrome: PageChrome
    public let cases: [CaseRow]
    /// Unread messages across the Secure Inbox.
    public let unread: Int

    public init(chrome: PageChrome, cases: [CaseRow], unread: Int) { self.chrome = chrome; self.cases = cases; self.unread = unread }
}

public enum PortalView {
    public static func render(_ model: PortalModel) -> HTML {
        let badge: HTML = model.unread > 0 ? " <span class=\"badge badge-light\">\(number: model.unread) unread</span>" : HTML()
        let cases: HTML = model.cases.isEmpty ? "<p>You have not joined a case yet.</p>" : """
          <table class="table">
            <caption class="visually-hidden">Cases you have joined</caption>
            <thead><tr><th scope="col">Practice</th><th scope="col">Case</th><th scope="col">Joined</th></tr></thead>
            <tbody>\(HTML.each(model.cases) { "<tr><td>\($0.practiceName)</td><td>\($0.title)</td><td>\($0.joined)</td></tr>" })</tbody>
          </table>
        """
        return Layout.page(model.chrome, """
        <section class="card" aria-labelledby="portal-heading">
          <h1 id="portal-heading">Welcome, \(model.chrome.userName ?? "")</h1>
          <p class="dashboard-main"><a class="button button-primary" href="\(Paths.inbox())">Secure Inbox\(badge)</a></p>
          <h2>Your practices</h2>
          \(cases)
        </section>
        """)
    }
}
