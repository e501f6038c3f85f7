import CaseTalkCore
import Foundation
import MultipartKit
import NIOCore

/// Reads a `multipart/form-data` body as it streams in (issue 19 item 3): the form's text fields,
/// and each file through its own `AttachmentPipeline`, so no more than a segment of any file is
/// held. `feed` turns a piece of the body into events for the caller to act on (store the
/// sealed bytes, which it awaits before feeding more, so the upload goes no faster than the
/// store); nothing here stores anything.
struct UploadReader {
    enum Event: Equatable {
        case field(name: String, value: String)
        /// A file begins: the id and key its stored bytes are sealed under, its cleaned name.
        case fileStarted(index: Int, id: UUID, key: [UInt8], name: String)
        case sealed(index: Int, bytes: [UInt8])
        case fileStored(index: Int, stored: AttachmentPipeline.Stored)
        /// The file is refused (its other bytes are passed over).
        case fileRefused(index: Int, problem: AttachmentPipeline.Problem)
        /// Files beyond the message's limit ("You can attach at most {n} files to one message.").
        case tooManyFiles(limit: Int)
    }

    enum FormError: Error, Equatable {
        /// Not multipart, a field too long or too many, or the body cut short.
        case malformed
    }

    /// Text fields: at most this many, each at most this many bytes (a message of 5,000
    /// characters is at most 20,000 bytes of UTF-8; CRLF line breaks may double its lines).
    static let maxFields = 16
    static let maxFieldBytes = 64 * 1024

    private let parser: MultipartParser
    private let box = Box()

    /// The parser reports through callbacks; what they see is kept here until `feed` returns it.
    private final class Box {
        var limits: AttachmentLimits = .patient
        var events: [Event] = []
        var error: FormError?
        var headers: [(String, String)] = []
        var part: Part?
        var files = 0
        var fields = 0
        var refusedCount = false
    }

    /// A file's pipeline, held by reference so that it changes in place: held by value in the
    /// enum, every piece of the body copied the file's open segment (a third of an upload's CPU
    /// in the profile, `bench/uploads.py`).
    private final class Pipeline {
        var value: AttachmentPipeline
        init(_ value: AttachmentPipeline) { self.value = value }
    }

    private enum Part {
        case field(name: String, bytes: [UInt8])
        case file(index: Int, pipeline: Pipeline?)
        /// An empty file input (no file chosen), or a part after a refusal: passed over.
        case skipped
    }

    /// `boundary`: from the request's Content-Type.
    init(boundary: String, limits: AttachmentLimits) {
        parser = MultipartParser(boundary: boundary)
        box.limits = limits
        let box = self.box
        parser.onHeader = { name, value in box.headers.append((name.lowercased(), value)) }
        parser.onBody = { buffer in
            if box.part == nil { box.part = Self.begin(box) }
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            Self.body(bytes, box)
        }
        parser.onPartComplete = {
            if box.part == nil { box.part = Self.begin(box) }
            Self.complete(box)
            box.headers = []
            box.part = nil
        }
    }

    /// The events `chunk` completes.
    mutating func feed(_ chunk: ByteBuffer) throws(FormError) -> [Event] {
        do { try parser.execute(chunk) } catch { throw .malformed }
        if let error = box.error { throw error }
        defer { box.events = [] }
        return box.events
    }

    /// The end of the body: a part still open means it was cut short.
    func finish() throws(FormError) {
        if box.part != nil || !box.headers.isEmpty { throw .malformed }
    }

    // MARK: Parts

    private static func begin(_ box: Box) -> Part {
        let disposition = box.headers.first { $0.0 == "content-disposition" }?.1 ?? ""
        let parameters = Self.parameters(disposition)
        guard let name = parameters["name"] else { return .skipped }
        guard let filename = parameters["filename"] else {
            box.fields += 1
            if box.fields > maxFields { box.error = .malformed }
            return .field(name: name, bytes: [])
        }
        if filename.isEmpty { return .skipped }   // the file input with no file chosen
        box.files += 1
        let index = box.files - 1
        if box.files > box.limits.maxFiles {
            if !box.refusedCount { box.events.append(.tooManyFiles(limit: box.limits.maxFiles)); box.refusedCount = true }
            return .file(index: index, pipeline: nil)
        }
        let id = UUID(), key = SegmentedSeal.newKey()
        box.events.append(.fileStarted(index: index, id: id, key: key, name: FileName.clean(filename)))
        return .file(index: index, pipeline: Pipeline(AttachmentPipeline(limits: box.limits, key: key, fileID: id.uuidString)))
    }

    private static func body(_ bytes: [UInt8], _ box: Box) {
        switch box.part {
        case .field(let name, var value)?:
            value += bytes
            if value.count > maxFieldBytes { box.error = .malformed }
            box.part = .field(name: name, bytes: value)
        case .file(let index, let pipeline?)?:
            do {
                let sealed = try pipeline.value.feed(bytes)
                if !sealed.isEmpty { box.events.append(.sealed(index: index, bytes: sealed)) }
            } catch {
                box.events.append(.fileRefused(index: index, problem: error))
                box.part = .file(index: index, pipeline: nil)
            }
        default:
            break
        }
    }

    private static func complete(_ box: Box) {
        switch box.part {
        case .field(let name, let value)?:
            box.events.append(.field(name: name, value: String(decoding: value, as: UTF8.self)))
        case .file(let index, let pipeline?)?:
            do {
                let (sealed, stored) = try pipeline.value.finish()
                if !sealed.isEmpty { box.events.append(.sealed(index: index, bytes: sealed)) }
                box.events.append(.fileStored(index: index, stored: stored))
            } catch {
                box.events.append(.fileRefused(index: index, problem: error))
            }
        default:
            break
        }
    }

    /// `form-data; name="body"; filename="x.jpg"` as name → value. Browsers write quotes inside a
    /// file name as `%22` and line breaks as `%0D%0A` (HTML's form-data encoding), so a quoted
    /// value ends at the next quote.
    static func parameters(_ header: String) -> [String: String] {
        var out: [String: String] = [:]
        var rest = Substring(header)
        while let semicolon = rest.firstIndex(of: ";") {
            rest = rest[rest.index(after: semicolon)...].drop { $0 == " " }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let key = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var value = rest[rest.index(after: equals)...]
            if value.first == "\"" {
                value = value.dropFirst()
                let end = value.firstIndex(of: "\"") ?? value.endIndex
                out[key] = String(value[..<end])
                rest = end < value.endIndex ? value[value.index(after: end)...] : ""
            } else {
                let end = value.firstIndex(of: ";") ?? value.endIndex
                out[key] = value[..<end].trimmingCharacters(in: .whitespaces)
                rest = value[end...]
            }
        }
        return out
    }
}
