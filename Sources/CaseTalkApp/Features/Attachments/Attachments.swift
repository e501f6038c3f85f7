import CaseTalkCore
import CaseTalkViews
import Fluent
import Foundation

/// Reading attached files (SPEC §8): exactly the two people who see a message see its files.
/// Every lookup names the signed-in person in its query (`AttachmentsTable.forMember`,
/// `forPatient`); anything else finds nothing and the route answers 404.
enum Attachments {
    /// The files of these messages of a conversation the caller found in the viewer's scope, as
    /// the thread shows them, by message.
    static func shown(withMessages ids: [String], in conversationID: UUID, sealer: Sealer,
                      on db: any Database) async throws -> [UUID: [ThreadFile]] {
        let messageIDs = ids.compactMap(UUID.init(uuidString:))
        guard !messageIDs.isEmpty else { return [:] }
        var out: [UUID: [ThreadFile]] = [:]
        for file in try await AttachmentsTable.ofMessages(messageIDs, in: conversationID, on: db) {
            out[file.messageID, default: []].append(try shown(file, sealer: sealer))
        }
        return out
    }

    private static func shown(_ file: AttachmentsTable.Listed, sealer: Sealer) throws -> ThreadFile {
        let name = String(decoding: try sealer.open(file.nameSealed, context: UploadedFile.nameContext(file.id)), as: UTF8.self)
        return ThreadFile(id: file.id, name: name, size: AttachmentLimits.display(bytes: file.storedBytes),
                          typeLabel: file.type?.label ?? "File", shown: isShown(file.type) || file.hasViews,
                          takenAt: file.takenAt.flatMap(CaptureTime.init(stored:))?.shown, checking: file.status == .checking,
                          refused: file.status == .refused, hasViews: file.hasViews)
    }

    /// The most files the Attachments tab lists.
    static let galleryLimit = 1000

    /// The Attachments tab (SPEC §8): the files of the member's own Patient Talk on the case
    /// (never a colleague's), images or documents or both, newest first or by name.
    static func gallery(caseID: UUID, memberID: UUID, show: Paths.FileFilter?, sort: Paths.FileSort?, zone: ShownZone, sealer: Sealer,
                        on db: any Database) async throws -> [GalleryItem] {
        var items = try await AttachmentsTable.ofMemberCase(caseID, memberID: memberID, limit: galleryLimit, on: db).compactMap { file -> GalleryItem? in
            let image = file.type?.isImage ?? false
            switch show {
            case .images?: if !image { return nil }
            case .documents?: if image { return nil }
            case nil: break
            }
            return GalleryItem(file: try shown(file, sealer: sealer), date: zone.display(file.createdAt), at: file.createdAt)
        }
        if sort == .name {
            items.sort { ($0.file.name.lowercased(), $0.at) < ($1.file.name.lowercased(), $1.at) }
        }
        return items
    }

    /// Whether a file of this type is opened in the browser rather than only downloaded: the
    /// images this server cleaned of their metadata and browsers show. HEIC, TIFF and BMP are
    /// downloaded (with the image tool, HEIC became JPEG and TIFF has views, which are shown);
    /// PDFs always download (SPEC §8).
    static func isShown(_ type: FileType?) -> Bool {
        switch type {
        case .jpeg?, .png?, .webp?: true
        default: false
        }
    }

    /// A file on its way out.
    struct Opened: Sendable {
        let type: FileType?
        let name: String
        /// The length, when the row knows it (the tool's thumbnail and view go out chunked).
        let bytes: Int?
        /// Shown in the browser rather than saved.
        let inline: Bool
        fileprivate let sealed: AsyncThrowingStream<[UInt8], any Error>
        fileprivate let key: [UInt8]
        fileprivate let fileID: String
        fileprivate let variant: String

        /// Gives the plaintext to `write` segment by segment, as the store reads it, awaiting each
        /// write (so a slow reader slows the reading, and no more than a piece is held). A segment
        /// that fails its check ends it with an error: the browser sees a broken download, never
        /// altered bytes.
        func content(_ write: ([UInt8]) async throws -> Void) async throws {
            try await Attachments.plaintext(sealed, key: key, fileID: fileID, variant: variant, write)
        }
    }

    /// A stored file's plaintext, given to `write` segment by segment as the store reads it.
    static func plaintext(_ sealed: AsyncThrowingStream<[UInt8], any Error>, key: [UInt8], fileID: String, variant: String = "original",
                          _ write: ([UInt8]) async throws -> Void) async throws {
        var reader = SegmentedSeal.Reader(key: key, fileID: fileID, variant: variant)
        for try await piece in sealed {
            let plain = try reader.feed(piece)
            if !plain.isEmpty { try await write(plain) }
        }
        let last = try reader.finish()
        if !last.isEmpty { try await write(last) }
    }

    /// File `id` for the signed-in person, if it is theirs to see, or its thumbnail or view
    /// (`size`): the image tool's, or the image itself where the tool made none and the image is
    /// shown (the page scales it); the view or download is in the audit trail before a byte goes out.
    static func open(_ id: UUID, download: Bool, size: Paths.FileSize? = nil, _ use: UseCaseContext) async throws -> Opened? {
        let found: AttachmentsTable.Visible?
        switch use.signedIn {
        case .staff(let memberID)?: found = try await AttachmentsTable.forMember(id, memberID: memberID, on: use.db)
        case .patient(let patientID)?: found = try await AttachmentsTable.forPatient(id, patientID: patientID, on: use.db)
        case nil: found = nil
        }
        guard let found, let principal = use.signedIn else { return nil }
        let original = FileType(rawValue: found.fileType)
        var (storedAs, type, variant, bytes): (String, FileType?, String, Int?) = (found.storeKey, original, "original", Int(found.storedBytes))
        if let size {
            if let variantKey = size == .thumbnail ? found.thumbnailKey : found.viewKey, let viewType = found.viewType {
                (storedAs, type, variant, bytes) = (variantKey, FileType(rawValue: viewType), size.rawValue, nil)
            } else if !isShown(original) {
                return nil
            }
        }
        guard let storeKey = StoreKey(storedAs) else { return nil }
        let sealer = use.services.sealer
        let key = try sealer.open(found.keySealed, context: UploadedFile.keyContext(found.id))
        let name = String(decoding: try sealer.open(found.nameSealed, context: UploadedFile.nameContext(found.id)), as: UTF8.self)
        let inline = !download && (variant != "original" || isShown(type))
        try await use.audit(inline ? .attachmentViewed : .attachmentDownloaded, actor: AuditActor(principal),
                            subject: "conversation:\(found.conversationId) attachment:\(found.id)")
        return Opened(type: type, name: name, bytes: bytes, inline: inline,
                      sealed: use.services.attachments.read(storeKey, from: 0), key: key, fileID: found.id.uuidString, variant: variant)
    }

    /// Keeps a file sent ahead of its message by `author` into the conversation of `memberID` on
    /// the case (SPEC §8 with the page's script: a failed file is sent again alone): its row
    /// waits, seen by no one, until a send names it, and its upload is in the audit trail. A
    /// member's first file makes their conversation, which the patient sees once it has a
    /// message. Not a member of the case, or no conversation a member started: `notFound`.
    static func sendAhead(_ file: UploadedFile, by author: MessageAuthor, caseID: UUID, memberID: UUID, actor: AuditActor,
                          _ use: UseCaseContext) async throws {
        let pair = ConversationsTable.Pair(caseID: caseID, memberID: memberID)
        let now = use.now
        let status: AttachmentsTable.Status = use.services.scanner == nil ? .ready : .checking
        try await use.db.transaction { tx in
            var (members, conversations) = try await ConversationsTable.memberships([pair], on: tx)
            guard members.contains(pair) else { throw PublicError.notFound }
            if conversations[pair] == nil, author == .member {
                try await ConversationsTable.create([pair], at: now, on: tx)
                conversations = try await ConversationsTable.memberships([pair], on: tx).conversations
            }
            guard let conversationID = conversations[pair] else { throw PublicError.notFound }
            try await AttachmentsTable.insert([.init(id: file.id, conversationID: conversationID, messageID: nil, author: author,
                                                     storeKey: file.storeKey, keySealed: file.keySealed, nameSealed: file.nameSealed,
                                                     stored: file.stored, views: file.views, status: status, at: now)], on: tx)
            try await Audit.record(.attachmentUploaded, actor: actor, subject: "conversation:\(conversationID) attachment:\(file.id)",
                                   clientAddress: use.clientAddress, at: now, key: use.services.auditKey, on: tx)
        }
    }

    /// Checks that the files a send names as sent ahead are all still waiting in this
    /// conversation, the author's own; or that this very send was stored already (the same form
    /// sent again, which then answers as before). Otherwise the send is refused and says so.
    static func requireWaiting(_ ids: [UUID], conversationID: UUID?, author: MessageAuthor, idempotencyKey: String?,
                               on db: any Database) async throws {
        guard !ids.isEmpty else { return }
        if let conversationID {
            if try await AttachmentsTable.unsent(ids, conversationID: conversationID, author: author, on: db) == ids.count { return }
            if let idempotencyKey,
               try await !MessagesTable.stored([.init(conversationID: conversationID, key: idempotencyKey)], on: db).isEmpty {
                return
            }
        }
        throw Uploads.FilesRefused(message: Uploads.notWaitingMessage)
    }

    /// Files stored more than a day ago that no row names: what a send that failed after its
    /// files were stored, or a crash mid-upload, left behind (issue 19 item 7); and files sent
    /// ahead of a message more than a day ago that no send named, rows and all. A file is stored
    /// before its row is committed, within the seconds a send takes, so a day leaves every send
    /// in flight alone (a file sent ahead is joined to its message within the idle sign-out's
    /// minutes). How many files were removed.
    @discardableResult
    static func sweepUnnamed(store: any AttachmentStore, now: Date, on db: any Database) async throws -> Int {
        var removed = 0
        for key in try await AttachmentsTable.removeUnsent(before: now.addingTimeInterval(-sweepAge), on: db) {
            try await store.delete(key)
            removed += 1
        }
        let old = try await store.keys(writtenBefore: now.addingTimeInterval(-sweepAge))
        guard !old.isEmpty else { return removed }
        let named = try await AttachmentsTable.named(old, on: db)
        for key in old where !named.contains(key.value) {
            try await store.delete(key)
            removed += 1
        }
        return removed
    }

    static let sweepAge: TimeInterval = 24 * 3600

    private struct Unreadable: Error { let underlying: any Error }

    /// The virus check (SPEC §8, `CLAMD_ADDRESS`): each file waiting as "Checking…", oldest
    /// first, read from the store, opened and streamed to the scanner. A clean file becomes
    /// ready; a refused one is never shown (its thread says "This file didn't pass our security
    /// check."), is in the audit trail, and its stored bytes are removed. A scan that could not be
    /// made throws, and the files wait for the next round. How many files were settled.
    static func checkWaiting(scanner: any VirusScanner, services: CaseTalkServices, limit: Int = 20, now: Date,
                             on db: any Database, logger: Logger) async throws -> Int {
        var settled = 0
        for file in try await AttachmentsTable.waiting(limit: limit, on: db) {
            guard let storeKey = StoreKey(file.storeKey) else { continue }
            let key = try services.sealer.open(file.keySealed, context: UploadedFile.keyContext(file.id))
            let verdict: ClamdProtocol.Verdict
            do {
                verdict = try await scanner.scan { write in
                    do {
                        try await plaintext(services.attachments.read(storeKey, from: 0), key: key, fileID: file.id.uuidString, write)
                    } catch { throw Unreadable(underlying: error) }
                }
            } catch let error as Unreadable {
                // This file, not the scanner: it waits (never shown) while the others go on.
                logger.error("a file waiting for the virus check cannot be read", metadata: ["attachment": "\(file.id)",
                                                                                           "error": .string(String(describing: error.underlying))])
                continue
            } catch let error as ClamdProtocol.ScanFailed {
                // clamd answered but could not scan this one (say, above its StreamMaxLength): it waits.
                logger.error("the virus check could not scan a file", metadata: ["attachment": "\(file.id)", "reply": .string(error.reply)])
                continue
            }
            switch verdict {
            case .clean:
                if try await AttachmentsTable.settle(file.id, as: .ready, on: db) { settled += 1 }
            case .infected(let signature):
                let refusedHere = try await db.transaction { tx -> Bool in
                    guard try await AttachmentsTable.settle(file.id, as: .refused, on: tx) else { return false }
                    try await Audit.record(.attachmentRefused, actor: .system, subject: "conversation:\(file.conversationId) attachment:\(file.id)",
                                           clientAddress: "", at: now, key: services.auditKey, on: tx)
                    return true
                }
                guard refusedHere else { continue }
                settled += 1
                logger.warning("the virus check refused a file", metadata: ["attachment": "\(file.id)", "signature": .string(signature)])
                try? await services.attachments.delete(storeKey)
            }
        }
        return settled
    }

    /// Counts a patient's files against SPEC §8's 30 in 24 hours, or refuses them all. The window
    /// begins with the first file after the last one ended (one row per patient, counted by one
    /// conditional statement, so parallel sends cannot pass it together). A send refused later
    /// still counts: the limit is there to stop floods, not to account exactly.
    static func countAgainstDailyLimit(_ files: Int, patientID: UUID, limits: AttachmentLimits, _ use: UseCaseContext) async throws {
        guard files > 0, let perDay = limits.maxPerDay else { return }
        guard try await PatientFileAllowancesTable.take(files, patientID: patientID, limit: perDay, window: 24 * 3600,
                                                        now: use.now, on: use.db) else {
            throw Uploads.FilesRefused(message: AttachmentLimits.perDayMessage(limit: perDay))
        }
    }
}
