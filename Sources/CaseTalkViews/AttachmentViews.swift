import CaseTalkCore
import Foundation

/// One file on the Attachments tab.
public struct GalleryItem: Sendable {
    public let file: ThreadFile
    /// When it was sent, as pages show dates.
    public let date: String
    public let at: Date
    public init(file: ThreadFile, date: String, at: Date) { self.file = file; self.date = date; self.at = at }
}

/// The case's **Attachments** tab (SPEC §8): the files of the signed-in member's own Patient Talk.
public struct CaseAttachmentsModel: Sendable {
    public let chrome: PageChrome
    public let header: CaseHeader
    public let items: [GalleryItem]
    public let show: Paths.FileFilter?
    public let sort: Paths.FileSort?
    public init(chrome: PageChrome, header: CaseHeader, items: [GalleryItem], show: Paths.FileFilter?, sort: Paths.FileSort?) {
        self.chrome = chrome; self.header = header; self.items = items; self.show = show; self.sort = sort
    }
}

public enum CaseAttachmentsView {
    public static func render(_ model: CaseAttachmentsModel) -> HTML {
        let id = model.header.id
        func choice(_ label: StaticString, _ path: Paths, current: Bool) -> HTML {
            current ? "<a href=\"\(path)\" class=\"chip chip-current\" aria-current=\"true\">\(literal: label)</a>"
                : "<a href=\"\(path)\" class=\"chip\">\(literal: label)</a>"
        }
        let filters: HTML = """
          \(choice("All", .caseAttachments(id, sort: model.sort), current: model.show == nil))
          \(choice("Images", .caseAttachments(id, show: .images, sort: model.sort), current: model.show == .images))
          \(choice("Documents", .caseAttachments(id, show: .documents, sort: model.sort), current: model.show == .documents))
          """
        let sorts: HTML = """
          \(choice("Date", .caseAttachments(id, show: model.show), current: model.sort != .name))
          \(choice("Name", .caseAttachments(id, show: model.show, sort: .name), current: model.sort == .name))
          """
        var grid = HTML()
        for item in model.items {
            let preview: HTML = item.file.shown
                ? "<img class=\"gallery-thumb\" src=\"\(item.file.thumbnail)\" alt=\"\" loading=\"lazy\">"
                : "<span class=\"gallery-doc\" aria-hidden=\"true\">\(item.file.typeLabel)</span>"
            grid.append("""
            <li class="gallery-item"><a href="\(Paths.caseAttachment(id, file: item.file.id, show: model.show, sort: model.sort))">\(preview)\
            <span class="attachment-name">\(item.file.name)</span></a>
            <span class="attachment-details">\(item.file.size) · \(item.file.typeLabel) · \(item.date)</span></li>
            """)
        }
        let list: HTML = model.items.isEmpty
            ? "<p class=\"muted\">No files yet. Files you and the patient send in your Patient Talk appear here.</p>"
            : "<ul class=\"gallery\" aria-label=\"Files\">\(grid)</ul>"
        return Layout.page(model.chrome, """
        \(model.header.render())
        <section class="card" aria-labelledby="files-heading">
          <h2 id="files-heading">Attachments</h2>
          <p>The files of your own Patient Talk with \(model.header.patientName). Only you and the patient can see them.</p>
          <div class="gallery-controls">
            <p class="chips" aria-label="Show">Show: \(filters)</p>
            <p class="chips" aria-label="Sort by">Sort by: \(sorts)</p>
          </div>
          \(list)
        </section>
        """)
    }
}

/// One file of the Attachments tab, full screen, with **Previous**, **Next** and **Download**.
public struct CaseAttachmentModel: Sendable {
    public let chrome: PageChrome
    public let header: CaseHeader
    public let item: GalleryItem
    /// Its place in the tab's list (1-based) and the list's length.
    public let position: Int
    public let count: Int
    public let previous: UUID?
    public let next: UUID?
    public let show: Paths.FileFilter?
    public let sort: Paths.FileSort?
    public init(chrome: PageChrome, header: CaseHeader, item: GalleryItem, position: Int, count: Int, previous: UUID?, next: UUID?,
                show: Paths.FileFilter?, sort: Paths.FileSort?) {
        self.chrome = chrome; self.header = header; self.item = item; self.position = position; self.count = count
        self.previous = previous; self.next = next; self.show = show; self.sort = sort
    }
}

public enum CaseAttachmentView {
    public static func render(_ model: CaseAttachmentModel) -> HTML {
        let id = model.header.id, file = model.item.file
        let previous: HTML = model.previous.map {
            "<a class=\"button\" rel=\"prev\" data-key=\"ArrowLeft\" href=\"\(Paths.caseAttachment(id, file: $0, show: model.show, sort: model.sort))\">Previous</a>"
        } ?? HTML()
        let next: HTML = model.next.map {
            "<a class=\"button\" rel=\"next\" data-key=\"ArrowRight\" href=\"\(Paths.caseAttachment(id, file: $0, show: model.show, sort: model.sort))\">Next</a>"
        } ?? HTML()
        let content: HTML = file.shown
            ? "<img class=\"viewer-image\" src=\"\(file.onScreen)\" alt=\"\(file.name)\">"
            : "<p class=\"viewer-doc\">\(file.typeLabel)</p>"
        let taken: HTML = file.takenAt.map { " · Photo taken \($0)" } ?? HTML()
        return Layout.page(model.chrome, """
        <section class="viewer" aria-labelledby="viewer-heading" data-swipe>
          <p><a href="\(Paths.caseAttachments(id, show: model.show, sort: model.sort))">Attachments · \(model.header.patientName)</a></p>
          <h1 id="viewer-heading">\(file.name)</h1>
          <p class="attachment-details">\(file.size) · \(file.typeLabel) · \(model.item.date)\(taken) · \(number: model.position) of \(number: model.count)</p>
          <figure class="viewer-figure">\(content)</figure>
          <nav class="viewer-nav" aria-label="Files">
            \(previous)
            <a class="button button-primary" href="\(Paths.file(file.id, download: true))" download>Download</a>
            \(next)
          </nav>
        </section>
        """)
    }
}
