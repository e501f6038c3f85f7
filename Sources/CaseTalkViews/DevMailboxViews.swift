import CaseTalkCore
import Foundation

/// The development mailbox's item, as its pages list it.
public struct MailboxItem: Sendable {
    public let id: UUID, kind: String, recipient: String, subject: String, createdAt: String
    public init(id: UUID, kind: String, recipient: String, subject: String, createdAt: String) {
        self.id = id; self.kind = kind; self.recipient = recipient; self.subject = subject; self.createdAt = createdAt
    }
}

/// `/dev/mailbox`: what would have been sent, and the demo accounts' two-step codes (SPEC §9).
public struct MailboxModel: Sendable {
    /// A demo account's two-step code that will be accepted now, or nil when it was just used.
    public struct DemoCode: Sendable {
        public let email: String; public let code: String?
        public init(email: String, code: String?) { self.email = email; self.code = code }
    }
    public let chrome: PageChrome
    public let codes: [DemoCode]
    public let items: [MailboxItem]
    public init(chrome: PageChrome, codes: [DemoCode], items: [MailboxItem]) { self.chrome = chrome; self.codes = codes; self.items = items }
}

public enum MailboxView {
    public static func render(_ model: MailboxModel) -> HTML {
        let codes: HTML = model.codes.isEmpty ? HTML() : """
        <h2>Two-step codes of the demo accounts</h2>
        <p class="muted">What each demo account's authenticator app would show now. A code works once; the next one appears here as soon as it may be used.</p>
        <table class="table" aria-label="Two-step codes">
          <thead><tr><th scope="col">Account</th><th scope="col">Code</th></tr></thead>
          <tbody>
          \(HTML.each(model.codes) { entry in
              let code: HTML = entry.code.map { "<code class=\"demo-code\">\($0)</code>" } ?? "used; the next code comes within 30 seconds"
              return "<tr><td data-label=\"Account\">\(entry.email)</td><td data-label=\"Code\">\(code)</td></tr>"
          })
          </tbody>
        </table>
        <h2>Sent</h2>
        """
        let items: HTML = model.items.isEmpty ? "<p class=\"empty\">Nothing has been sent yet.</p>" : """
        <table class="table">
          <thead><tr><th scope="col">When</th><th scope="col">Kind</th><th scope="col">To</th><th scope="col">Subject</th></tr></thead>
          <tbody>
          \(HTML.each(model.items) { item in """
            <tr><td data-label="When">\(item.createdAt)</td><td data-label="Kind">\(item.kind)</td><td data-label="To">\(item.recipient)</td>
              <td data-label="Subject"><a href="\(Paths.devMailboxItem(item.id))">\(item.subject)</a></td></tr>
            """ })
          </tbody>
        </table>
        """
        return Layout.page(model.chrome, """
        <h1>Development mailbox</h1>
        <p class="muted">Emails, texts and calls that would have gone out. This page exists only in development, without SMTP_URL or Twilio settings.</p>
        \(codes)
        \(items)
        """)
    }
}

public struct MailboxItemModel: Sendable {
    public let chrome: PageChrome
    public let item: MailboxItem
    public let text: String
    public init(chrome: PageChrome, item: MailboxItem, text: String) { self.chrome = chrome; self.item = item; self.text = text }
}

public enum MailboxItemView {
    public static func render(_ model: MailboxItemModel) -> HTML {
        let item = model.item
        return Layout.page(model.chrome, """
        <p><a href="\(Paths.devMailbox)">Development mailbox</a></p>
        <section class="card" aria-labelledby="item-heading">
          <h1 id="item-heading">\(item.subject)</h1>
          <p class="muted">\(item.kind) to \(item.recipient), \(item.createdAt) · <a href="\(Paths.devMailboxItemHTML(item.id))">HTML part</a></p>
          <pre class="mail-text">\(model.text)</pre>
        </section>
        """)
    }
}

/// The HTML part of every email: paragraphs, at most one link, closing paragraphs. Each
/// paragraph is `HTML`, so the names in it were escaped where they were interpolated.
public enum EmailView {
    public static func render(_ paragraphs: [HTML], link: String? = nil, linkText: String = "", after: [HTML] = []) -> HTML {
        let button: HTML = link.map { "<p><a href=\"\($0)\">\(linkText)</a></p>" } ?? HTML()
        return """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>CaseTalk</title></head><body>\
        \(HTML.each(paragraphs) { "<p>\($0)</p>" })\(button)\(HTML.each(after) { "<p>\($0)</p>" })\
        </body></html>
        """
    }
}
