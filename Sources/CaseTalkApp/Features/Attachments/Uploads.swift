import CaseTalkCore
import Foundation
import NIOCore
import Vapor

/// A file stored and sealed, to go with the message it was sent with (its row is written with
/// the message, see `MessageWriter`).
struct UploadedFile: Sendable {
    let id: UUID
    var storeKey: StoreKey
    /// The file's own key and its cleaned name, sealed with the data key.
    let keySealed: String
    var nameSealed: String
    var stored: AttachmentPipeline.Stored
    /// The image tool's thumbnail and view, when it made them.
    var views: Views?

    struct Views: Sendable {
        let thumbnailKey: StoreKey
        let viewKey: StoreKey
        let type: FileType
    }

    /// Every name it is stored under.
    var storeKeys: [StoreKey] { [storeKey] + [views?.thumbnailKey, views?.viewKey].compactMap { $0 } }

    static func keyContext(_ id: UUID) -> String { "attachment-key:\(id)" }
    static func nameContext(_ id: UUID) -> String { "attachment-name:\(id)" }
}

/// A message form posted with its files (`multipart/form-data`, SPEC §8), read as it streams in:
/// every file is checked, cleaned and sealed by its own `AttachmentPipeline` and written to the
/// store as it arrives, so no more than a piece of any file is ever held. Nothing is kept unless
/// every file passed: after the first refusal the rest of the body is read and passed over (a
/// browser shown an answer before it finished sending would show a broken connection instead),
/// and the files already stored are removed.
enum Uploads {
    /// What the form sent.
    struct Received: Sendable {
        var fields: [String: String] = [:]
        var files: [UploadedFile] = []
        /// Why files were refused, each with the file's name, in the order they came.
        var problems: [String] = []
        /// Why the store failed, if it did: nothing was kept, and the person should try again.
        var storeError: (any Error)?
        var storeFailed: Bool { storeError != nil }

        func field(_ name: String) -> String? { fields[name] }
    }

    enum Refusal: Error, Equatable {
        /// The form's CSRF token is missing or wrong, or came after a file.
        case forbidden
        /// Not a well-formed form.
        case malformed
    }

    /// The boundary of a `multipart/form-data` Content-Type, or nil for any other type.
    static func boundary(contentType: String?) -> String? {
        guard let contentType, let semicolon = contentType.firstIndex(of: ";"),
              contentType[..<semicolon].trimmingCharacters(in: .whitespaces).lowercased() == "multipart/form-data",
              let boundary = UploadReader.parameters(contentType)["boundary"], !boundary.isEmpty, boundary.utf8.count <= 70 else {
            return nil
        }
        return boundary
    }

    /// Reads `body`. The form's first field must be its CSRF token (`Form.csrf` comes first in
    /// every form), unless `headerToken` carried it: no file is stored for a form that did not
    /// prove it came from the signed-in person's own page.
    static func receive(_ body: some AsyncSequence<ByteBuffer, any Error>, boundary: String, limits: AttachmentLimits,
                        expectedToken: String?, headerToken: String?, store: any AttachmentStore, sealer: Sealer,
                        imageTool: ImageTool? = nil) async throws -> Received {
        guard let expectedToken else { throw Refusal.forbidden }
        var verified = headerToken.map { ConstantTime.equal($0, expectedToken) } ?? false
        var reader = UploadReader(boundary: boundary, limits: limits)
        var received = Received()
        var stored: [StoreKey] = []
        var current: (index: Int, id: UUID, key: [UInt8], name: String, storeKey: StoreKey, writer: any AttachmentWriter)?
        var names: [Int: String] = [:]

        func keeping() -> Bool { received.problems.isEmpty && !received.storeFailed }
        func dropCurrent() async {
            if let open = current { await open.writer.discard() }
            current = nil
        }

        do {
            for try await chunk in body {
                let events: [UploadReader.Event]
                do { events = try reader.feed(chunk) } catch { throw Refusal.malformed }
                for event in events {
                    switch event {
                    case .field(let name, let value):
                        if name == CSRFMiddleware.fieldName {
                            if !verified { verified = ConstantTime.equal(value, expectedToken) }
                        } else if received.fields[name] == nil {
                            received.fields[name] = value
                        }
                    case .fileStarted(let index, let id, let key, let name):
                        guard verified else { throw Refusal.forbidden }
                        names[index] = name
                        guard keeping() else { continue }
                        let storeKey = StoreKey()
                        do {
                            current = (index, id, key, name, storeKey, try await store.begin(storeKey))
                        } catch {
                            received.storeError = error
                        }
                    case .sealed(let index, let bytes):
                        guard let open = current, open.index == index, keeping() else { continue }
                        do { try await open.writer.write(bytes) } catch {
                            received.storeError = error
                            await dropCurrent()
                        }
                    case .fileStored(let index, let result):
                        guard let open = current, open.index == index, keeping() else { continue }
                        current = nil
                        var file: UploadedFile
                        do {
                            _ = try await open.writer.commit()
                            stored.append(open.storeKey)
                            file = UploadedFile(
                                id: open.id, storeKey: open.storeKey,
                                keySealed: try sealer.seal(open.key, context: UploadedFile.keyContext(open.id)),
                                nameSealed: try sealer.seal(Array(open.name.utf8), context: UploadedFile.nameContext(open.id)),
                                stored: result)
                        } catch {
                            received.storeError = error
                            continue
                        }
                        if let imageTool {
                            do {
                                file = try await imageTool.prepare(file, key: open.key, name: open.name, store: store, sealer: sealer)
                            } catch .unreadable {
                                received.problems.append("\(open.name): \(AttachmentPipeline.Problem.emptyOrDamaged.message())")
                                continue
                            } catch .failed(let error) {
                                received.storeError = error
                                continue
                            }
                            // The file as sent is gone when the tool rewrote it.
                            stored.removeAll { $0 == open.storeKey }
                            stored += file.storeKeys
                        }
                        received.files.append(file)
                    case .fileRefused(let index, let problem):
                        if current?.index == index { await dropCurrent() }
                        received.problems.append("\(names[index] ?? "file"): \(problem.message())")
                    case .tooManyFiles(let limit):
                        received.problems.append(AttachmentLimits.tooManyMessage(limit: limit))
                    }
                }
            }
            do { try reader.finish() } catch { throw Refusal.malformed }
            guard verified else { throw Refusal.forbidden }
        } catch {
            await dropCurrent()
            await remove(stored, from: store)
            throw error
        }
        if !keeping() {
            await dropCurrent()
            await remove(stored, from: store)
            received.files = []
        }
        return received
    }

    /// How a send form ended: sent, or refused with what to show beside the form.
    enum Outcome: Sendable {
        case sent
        case refused(messageError: String?, fileErrors: [String], status: HTTPResponseStatus)
    }

    /// A reason to refuse the files that is known only once they are in (the daily limit).
    struct FilesRefused: Error { let message: String }

    static let storeFailedMessage = "Your files could not be saved just now. Nothing was sent; please try again."
    static let notWaitingMessage = "Some of the files you attached are no longer waiting to be sent. Please attach them again."

    /// The form field naming the files the page's script sent ahead (`Paths.patientTalkFiles`):
    /// their ids, separated by commas.
    static let sentAheadField = "sent_ahead"

    /// The ids in `sentAheadField`, each once, or nil if one is not an id.
    static func sentAhead(_ raw: String?) -> [UUID]? {
        guard let raw, !raw.isEmpty else { return [] }
        var ids: [UUID] = []
        for part in raw.split(separator: ",", omittingEmptySubsequences: false) {
            guard let id = UUID(uuidString: String(part)) else { return nil }
            if !ids.contains(id) { ids.append(id) }
        }
        return ids
    }

    /// Sends `form` with `send` (given the checked text, the stored files and the ids of those
    /// sent ahead) unless a file was refused, there are too many, or the text is not right; the
    /// stored files are removed whenever the message is not sent (those sent ahead wait for the
    /// next try, or the sweep).
    static func submit(_ form: Received, limits: AttachmentLimits, store: any AttachmentStore,
                       send: (String, [UploadedFile], [UUID]) async throws -> Void) async throws -> Outcome {
        if form.storeFailed { return .refused(messageError: nil, fileErrors: [storeFailedMessage], status: .serviceUnavailable) }
        if !form.problems.isEmpty { return .refused(messageError: nil, fileErrors: form.problems, status: .unprocessableEntity) }
        do {
            guard let ahead = sentAhead(form.field(sentAheadField)) else { throw FilesRefused(message: notWaitingMessage) }
            if let tooMany = limits.countProblem(files: ahead.count + form.files.count) { throw FilesRefused(message: tooMany) }
            let text = try Conversations.body(form.field("body"), withFiles: !form.files.isEmpty || !ahead.isEmpty)
            try await send(text, form.files, ahead)
            return .sent
        } catch let error as ValidationError {
            await remove(form.files, from: store)
            return .refused(messageError: error.message, fileErrors: [], status: .unprocessableEntity)
        } catch let refused as FilesRefused {
            await remove(form.files, from: store)
            return .refused(messageError: nil, fileErrors: [refused.message], status: .unprocessableEntity)
        } catch {
            await remove(form.files, from: store)
            throw error
        }
    }

    /// Removes stored files no row will name (the sweep removes any this misses after a day).
    static func remove(_ keys: [StoreKey], from store: any AttachmentStore) async {
        for key in keys { try? await store.delete(key) }
    }

    static func remove(_ files: [UploadedFile], from store: any AttachmentStore) async {
        await remove(files.flatMap(\.storeKeys), from: store)
    }
}

extension Uploads.Received {
    /// A plain message form (no files): its two fields.
    init(_ form: Conversations.SendForm) {
        fields = ["body": form.body, "idempotency_key": form.idempotencyKey].compactMapValues { $0 }
    }
}

extension Request {
    /// A message form posted under `Paths.uploadPrefix`: with its files as they stream in, or a
    /// plain form (which `CSRFMiddleware` read and checked whole) as its fields.
    func receiveMessageForm(staff: Bool) async throws -> Uploads.Received {
        guard let boundary = Uploads.boundary(contentType: headers.first(name: .contentType)) else {
            var form = Uploads.Received(Conversations.SendForm(self))
            form.fields[Uploads.sentAheadField] = formField(Uploads.sentAheadField)
            return form
        }
        return try await receiveFiles(boundary: boundary, limits: caseTalk.attachmentLimits(staff: staff))
    }

    /// One file sent ahead of its message by the page's script (`Paths.patientTalkFiles`), kept
    /// by `keep` (which stores its row, or refuses it with `Uploads.FilesRefused`): 201 with its
    /// id in `X-CaseTalk-File`, or why not in plain text (422, or 503 when the store failed and
    /// the page should try again). Nothing is kept of a refused file.
    func receiveFileSentAhead(staff: Bool, keep: (UploadedFile) async throws -> Void) async throws -> Response {
        guard let boundary = Uploads.boundary(contentType: headers.first(name: .contentType)) else {
            throw PublicError(status: .badRequest, message: "The form could not be read. Please try sending it again.")
        }
        let form = try await receiveFiles(boundary: boundary, limits: caseTalk.attachmentLimits(staff: staff).oneFile)
        func text(_ status: HTTPResponseStatus, _ lines: [String]) -> Response {
            Response(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: .init(string: lines.joined(separator: "\n")))
        }
        if form.storeFailed { return text(.serviceUnavailable, [Uploads.storeFailedMessage]) }
        if !form.problems.isEmpty { return text(.unprocessableEntity, form.problems) }
        guard let file = form.files.first else { return text(.unprocessableEntity, ["Choose a file to attach."]) }
        do {
            try await keep(file)
        } catch let refused as Uploads.FilesRefused {
            await Uploads.remove(form.files, from: caseTalk.attachments)
            return text(.unprocessableEntity, [refused.message])
        } catch {
            await Uploads.remove(form.files, from: caseTalk.attachments)
            throw error
        }
        return Response(status: .created, headers: ["X-CaseTalk-File": file.id.uuidString])
    }

    private func receiveFiles(boundary: String, limits: AttachmentLimits) async throws -> Uploads.Received {
        do {
            let received = try await Uploads.receive(body, boundary: boundary, limits: limits,
                                                     expectedToken: expectedFormToken, headerToken: headers.first(name: "X-CSRF-Token"),
                                                     store: caseTalk.attachments, sealer: caseTalk.sealer, imageTool: caseTalk.imageTool)
            // The store's own words (a status and an error code, never a file's name or bytes).
            if let failure = received.storeError { logger.error("attachment store failed: \(String(describing: failure))") }
            return received
        } catch Uploads.Refusal.forbidden {
            logger.notice("upload rejected: missing or wrong CSRF token")
            throw PublicError.csrfRejected
        } catch Uploads.Refusal.malformed {
            throw PublicError(status: .badRequest, message: "The form could not be read. Please try sending it again.")
        }
    }
}

extension Request {
    /// After a send: the redirect to `path`, or, for the page's own background send with files
    /// (`X-CaseTalk-Upload: 1`, see `Public/js/app.js`), 204 naming `path`, so that the browser
    /// loads the next page once instead of following the redirect unseen and loading it again
    /// (each thread view is audited).
    func answerSent(to path: Paths) -> Response {
        guard headers.first(name: "X-CaseTalk-Upload") == "1" else { return redirect(to: path) }
        return Response(status: .noContent, headers: ["X-CaseTalk-Location": path.path])
    }
}
