import CaseTalkCore
import Foundation

/// One message as a thread shows it.
public struct ThreadEntry: Sendable {
    /// The message's id as text (`UUID.uuidString`): the page's anchor for it.
    public let id: String
    public let mine: Bool
    public let author: String
    public let date: String
    public let text: String
    /// For the viewer's own messages: when the other side first opened it.
    public let read: String?

    public init(id: String, mine: Bool, author: String, date: String, text: String, read: String?) {
        self.id = id; self.mine = mine; self.author = author; self.date = date; self.text = text
        self.read = read
    }
}

/// One page of a thread, oldest first within the page.
public struct ThreadModel: Sendable {
    public let entries: [ThreadEntry]
    /// The page of older messages, if any; and of newer ones, when this is not the newest.
    public let earlierPage: Int?
    public let laterPage: Int?

    public init(entries: [ThreadEntry], earlierPage: Int?, laterPage: Int?) {
        self.entries = entries
        self.earlierPage = earlierPage; self.laterPage = laterPage
    }

    public static let empty = ThreadModel(entries: [], earlierPage: nil, laterPage: nil)
}

/// The message thread of Patient Talk and of the Secure Inbox, and the reply form under it.
public enum ThreadView {
    /// `page` makes the link to another page of the same thread.
    public static func render(_ thread: ThreadModel, page: (Int) -> Paths) -> HTML {
        let earlier: HTML = thread.earlierPage.map {
            "<p class=\"thread-pager\"><a href=\"\(page($0))\">Show earlier messages</a></p>"
        } ?? HTML()
        let later: HTML = thread.laterPage.map {
            "<p class=\"thread-pager\"><a href=\"\(page($0))\">Show later messages</a></p>"
        } ?? HTML()
        guard !thread.entries.isEmpty else { return "\(earlier)<p class=\"muted\">No messages yet.</p>\(later)" }
        var list = HTML()
        for entry in thread.entries {
            let read: HTML = entry.read.map { " · <span class=\"message-read\">Read \($0)</span>" } ?? HTML()
            let mine: HTML = entry.mine ? " message-mine" : HTML()
            list.append("""
              <li class="message\(mine)" id="m-\(entry.id)">
                <p class="message-meta"><strong>\(entry.author)</strong> · <time>\(entry.date)</time>\(read)</p>
                <p class="message-text">\(entry.text)</p>
              </li>
            """)
        }
        return "\(earlier)<ol class=\"thread\" aria-label=\"Messages, oldest first\">\(list)</ol>\(later)"
    }

    /// The message box: `action` posts it, `sendKey` makes a retried post land once.
    public static func replyForm(action: Paths, csrf: String?, sendKey: String, label: HTML, draft: String, error: String?,
                                 hint: HTML = HTML()) -> HTML {
        """
        <form method="post" action="\(action)" class="form message-form" novalidate>
          \(Form.csrf(csrf))
          \(Form.hidden("idempotency_key", sendKey))
          \(Form.field("body", label: label, value: draft, error: error, placement: .alertAbove, textarea: true,
                       attributes: "rows=\"4\" maxlength=\"5000\"", after: hint))
          <div class="actions"><button type="submit" class="button button-primary">Send</button></div>
        </form>
        """
    }
}
