import CaseTalkCore
import Foundation

/// A file sent with a message, as its thread shows it (SPEC §8): never its content's words.
public struct ThreadFile: Sendable {
    public let id: UUID
    /// Cleaned for display (see `FileName`).
    public let name: String
    public let size: String
    public let typeLabel: String
    /// Whether the browser is shown it (a cleaned image); otherwise it is offered for download.
    public let shown: Bool
    /// "Photo taken {date}", when the camera said.
    public let takenAt: String?
    /// Waiting for the virus check.
    public let checking: Bool
    /// Refused by the virus check: named, never offered.
    public let refused: Bool
    /// Whether the image tool made a thumbnail and a view for the screen.
    public let hasViews: Bool

    public init(id: UUID, name: String, size: String, typeLabel: String, shown: Bool, takenAt: String?, checking: Bool = false,
                refused: Bool = false, hasViews: Bool = false) {
        self.id = id; self.name = name; self.size = size; self.typeLabel = typeLabel; self.shown = shown
        self.takenAt = takenAt; self.checking = checking; self.refused = refused; self.hasViews = hasViews
    }

    /// Where a shown image's thumbnail is: the tool's, or else the image itself (scaled by the page).
    public var thumbnail: Paths { .file(id, size: hasViews ? .thumbnail : nil) }
    /// Where a shown image is seen whole on the screen: the tool's view, or else the image itself.
    public var onScreen: Paths { .file(id, size: hasViews ? .view : nil) }

    /// SPEC §8's words for a file the virus check refused.
    public static let refusedMessage = "This file didn't pass our security check."
}

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
    public let files: [ThreadFile]

    public init(id: String, mine: Bool, author: String, date: String, text: String, read: String?, files: [ThreadFile] = []) {
        self.id = id; self.mine = mine; self.author = author; self.date = date; self.text = text
        self.read = read; self.files = files
    }
}

/// One page of a thread, oldest first within the page.
public struct ThreadModel: Sendable {
    public let entries: [ThreadEntry]
    /// The page of older messages, if any; and of newer ones, when this is not the newest.
    public let earlierPage: Int?
    public let laterPage: Int?
    /// After a handover (SPEC §9): "Continued by {new} since {date}; previously {old}".
    public let handover: String?

    public init(entries: [ThreadEntry], earlierPage: Int?, laterPage: Int?, handover: String? = nil) {
        self.entries = entries
        self.earlierPage = earlierPage; self.laterPage = laterPage; self.handover = handover
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
        let handover: HTML = thread.handover.map { "<p class=\"thread-handover\">\($0)</p>" } ?? HTML()
        guard !thread.entries.isEmpty else { return "\(handover)\(earlier)<p class=\"muted\">No messages yet.</p>\(later)" }
        var list = HTML()
        for entry in thread.entries {
            let read: HTML = entry.read.map { " · <span class=\"message-read\">Read \($0)</span>" } ?? HTML()
            let mine: HTML = entry.mine ? " message-mine" : HTML()
            let text: HTML = entry.text.isEmpty ? HTML() : "<p class=\"message-text\">\(entry.text)</p>"
            list.append("""
              <li class="message\(mine)" id="m-\(entry.id)">
                <p class="message-meta"><strong>\(entry.author)</strong> · <time>\(entry.date)</time>\(read)</p>
                \(text)\(files(entry.files))
              </li>
            """)
        }
        return "\(handover)\(earlier)<ol class=\"thread\" aria-label=\"Messages, oldest first\">\(list)</ol>\(later)"
    }

    /// A message's files: images as thumbnails that open them, other files with **Download**.
    static func files(_ files: [ThreadFile]) -> HTML {
        guard !files.isEmpty else { return HTML() }
        var items = HTML()
        for file in files {
            let taken: HTML = file.takenAt.map { " · Photo taken \($0)" } ?? HTML()
            let details: HTML = "<span class=\"attachment-details\">\(file.size) · \(file.typeLabel)\(taken)</span>"
            if file.refused {
                items.append("<li class=\"attachment attachment-refused\"><span class=\"attachment-name\">\(file.name)</span> \(details) <span class=\"attachment-refused-note\">\(ThreadFile.refusedMessage)</span></li>")
            } else if file.checking {
                items.append("<li class=\"attachment\"><span class=\"attachment-name\">\(file.name)</span> \(details) <span class=\"muted\">Checking…</span></li>")
            } else if file.shown {
                items.append("""
                <li class="attachment attachment-image"><a href="\(file.onScreen)"><img class="attachment-thumb" src="\(file.thumbnail)" \
                alt="\(file.name)" loading="lazy"></a> <span class="attachment-name">\(file.name)</span> \(details)</li>
                """)
            } else {
                items.append("""
                <li class="attachment"><span class="attachment-name">\(file.name)</span> \(details) \
                <a href="\(Paths.file(file.id, download: true))" download>Download<span class="visually-hidden"> \(file.name)</span></a></li>
                """)
            }
        }
        return "<ul class=\"attachments\" aria-label=\"Files\">\(items)</ul>"
    }

    /// The message box with **Attach files** (SPEC §8): `action` posts it with its files as they
    /// stream in (the CSRF field first, see `Uploads`), `sendKey` makes a retried post land once.
    /// `fileErrors` say why files were refused (the typed message is kept). With script, each file
    /// goes to `filesAhead` on its own first (so a failed one is sent again alone) and the form
    /// then names them. On a phone the picker offers the camera and the photo library.
    public static func replyForm(action: Paths, filesAhead: Paths, csrf: String?, sendKey: String, label: HTML, draft: String,
                                 error: String?, fileErrors: [String] = [], hint: HTML = HTML()) -> HTML {
        let problems: HTML = fileErrors.isEmpty ? HTML() : """
          <div class="field-error" id="files-error" role="alert"><ul>\(HTML.each(fileErrors) { "<li>\($0)</li>" })</ul></div>
          """
        let described: HTML = fileErrors.isEmpty ? HTML() : " aria-describedby=\"files-error\" aria-invalid=\"true\""
        return """
        <form method="post" action="\(action)" data-files-ahead="\(filesAhead)" enctype="multipart/form-data" class="form message-form" novalidate>
          \(Form.csrf(csrf))
          \(Form.hidden("idempotency_key", sendKey))
          \(Form.field("body", label: label, value: draft, error: error, placement: .alertAbove, textarea: true,
                       attributes: "rows=\"4\" maxlength=\"5000\"", after: hint))
          <div class="field">
            <label for="files">Attach files</label>
            \(problems)
            <input type="file" id="files" name="files" multiple accept="\(acceptedTypes)"\(described)>
          </div>
          <div class="actions"><button type="submit" class="button button-primary">Send</button></div>
        </form>
        """
    }

    /// What the picker offers: any image (so the phone offers its camera and library; the server
    /// decides by content) and PDFs.
    static let acceptedTypes = "image/*,application/pdf,.pdf,.heic,.heif,.dcm"
}
