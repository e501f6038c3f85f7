import AsyncHTTPClient
import CaseTalkCore
import Foundation
import NIOCore
import NIOHTTP1

/// Attachments in a bucket of any S3-compatible service (`ATTACHMENT_STORE=s3://BUCKET?…`, SPEC §8),
/// for several servers sharing the files. Requests go path-style to the endpoint, signed with
/// Signature Version 4 in the `Authorization` header, on the application's HTTP client. No URL is
/// ever handed to a browser: every byte passes through the app's scope checks and audit.
///
/// A file up to one part is stored with a single PUT at `commit`; a larger one as a multipart
/// upload, a part sent whenever a part's worth has come in (so an upload holds at most a part in
/// memory and goes no faster than the store), made visible only by the completing request. Until
/// then nothing is found under the key; a crash leaves an unfinished multipart upload, which the
/// sweep aborts after a day. Objects are read in ranged pieces, each its own request, as the
/// reader asks for them.
struct S3AttachmentStore: AttachmentStore {
    let setting: AttachmentStoreSetting.S3
    let client: HTTPClient
    /// Every part but the last must be at least 5 MiB (S3's rule).
    static let partSize = 5 * 1024 * 1024
    /// The size of the pieces `read` gives, each a ranged GET.
    static let readSize = 2 * 1024 * 1024
    /// How long one request may take, a part's upload included.
    static let requestTimeout: TimeAmount = .seconds(120)

    private var signer: SigV4 {
        SigV4(accessKeyID: setting.accessKeyID, secretAccessKey: setting.secretAccessKey, region: setting.region)
    }

    /// Host and port as the request's `Host` header carries them (and as they are signed).
    private var host: String {
        let parts = URLComponents(url: setting.endpoint, resolvingAgainstBaseURL: false)
        let name = parts?.host ?? ""
        let bracketed = name.contains(":") ? "[\(name)]" : name
        return parts?.port.map { "\(bracketed):\($0)" } ?? bracketed
    }

    /// One signed request; fails unless the answer's status is one of `accepting`. The answer's
    /// body is left to the caller to read.
    func send(_ method: HTTPMethod, key: StoreKey?, query: [(String, String)] = [], body: [UInt8] = [],
                          headers extra: [(String, String)] = [], accepting: Set<UInt> = [200]) async throws -> HTTPClientResponse {
        let path = "/" + SigV4.encode(setting.bucket) + (key.map { "/" + $0.value } ?? "")
        let queryText = query.map { SigV4.encode($0.0) + "=" + SigV4.encode($0.1) }.joined(separator: "&")
        let payloadHash = body.isEmpty ? SigV4.emptyPayloadHash : SigV4.payloadHash(body)
        var signed: [(String, String)] = [("host", host), ("x-amz-date", SigV4.amzDate(Date())), ("x-amz-content-sha256", payloadHash)]
        signed += extra
        let authorization = signer.authorization(method: method.rawValue, path: path, query: query, headers: signed,
                                                 payloadHash: payloadHash)
        let base = setting.endpoint.absoluteString.hasSuffix("/") ? String(setting.endpoint.absoluteString.dropLast()) : setting.endpoint.absoluteString
        var request = HTTPClientRequest(url: base + path + (queryText.isEmpty ? "" : "?" + queryText))
        request.method = method
        for (name, value) in signed { request.headers.replaceOrAdd(name: name, value: value) }
        request.headers.replaceOrAdd(name: "Authorization", value: authorization)
        if !body.isEmpty || method == .PUT || method == .POST {
            request.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
            request.body = .bytes(body)
        }
        let response = try await client.execute(request, timeout: Self.requestTimeout)
        guard accepting.contains(response.status.code) else {
            // S3's error documents name a code (like SignatureDoesNotMatch) and never the file's contents.
            let text = (try? await response.body.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
            throw StoreError.refused(status: response.status.code, code: S3XML.values("Code", in: text).first ?? "")
        }
        return response
    }

    func begin(_ key: StoreKey) async throws -> any AttachmentWriter {
        Writer(store: self, key: key)
    }

    /// Collects a part's worth before sending it; used by one upload at a time, in order.
    private final class Writer: AttachmentWriter, @unchecked Sendable {
        // One upload uses it at a time, awaiting each call (the protocol's contract), so its
        // state is never touched by two threads at once.
        private let store: S3AttachmentStore, key: StoreKey
        private var pending: [UInt8] = []
        private var uploadID: String?
        private var etags: [String] = []
        private var written = 0

        init(store: S3AttachmentStore, key: StoreKey) {
            self.store = store
            self.key = key
        }

        func write(_ bytes: [UInt8]) async throws {
            pending += bytes
            written += bytes.count
            while pending.count >= S3AttachmentStore.partSize {
                let part = Array(pending.prefix(S3AttachmentStore.partSize))
                pending.removeFirst(S3AttachmentStore.partSize)
                try await send(part)
            }
        }

        private func send(_ part: [UInt8]) async throws {
            if uploadID == nil {
                let answer = try await store.send(.POST, key: key, query: [("uploads", "")])
                let text = String(buffer: try await answer.body.collect(upTo: 64 * 1024))
                guard let id = S3XML.values("UploadId", in: text).first, !id.isEmpty else { throw StoreError.unreadableAnswer }
                uploadID = id
            }
            guard let uploadID else { throw StoreError.unreadableAnswer }
            let answer = try await store.send(.PUT, key: key, query: [("partNumber", String(etags.count + 1)), ("uploadId", uploadID)], body: part)
            guard let etag = answer.headers.first(name: "ETag") else { throw StoreError.unreadableAnswer }
            _ = try? await answer.body.collect(upTo: 64 * 1024)
            etags.append(etag)
        }

        func commit() async throws -> Int {
            do {
                guard uploadID != nil else {
                    let answer = try await store.send(.PUT, key: key, body: pending)
                    _ = try? await answer.body.collect(upTo: 64 * 1024)
                    pending = []
                    return written
                }
                if !pending.isEmpty { try await send(pending) }
                pending = []
                guard let uploadID else { throw StoreError.unreadableAnswer }
                let parts = etags.enumerated().map { "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\(S3XML.escape($0.element))</ETag></Part>" }
                let document = "<CompleteMultipartUpload>" + parts.joined() + "</CompleteMultipartUpload>"
                let answer = try await store.send(.POST, key: key, query: [("uploadId", uploadID)], body: Array(document.utf8))
                // S3 may answer 200 and still have failed: the body then holds an <Error>, not a result.
                let text = String(buffer: try await answer.body.collect(upTo: 64 * 1024))
                guard S3XML.values("Error", in: text).isEmpty else {
                    throw StoreError.refused(status: 200, code: S3XML.values("Code", in: text).first ?? "")
                }
                return written
            } catch {
                await discard()
                throw error
            }
        }

        func discard() async {
            pending = []
            guard let uploadID else { return }
            self.uploadID = nil
            if let answer = try? await store.send(.DELETE, key: key, query: [("uploadId", uploadID)], accepting: [200, 204, 404]) {
                _ = try? await answer.body.collect(upTo: 64 * 1024)
            }
        }
    }

    func read(_ key: StoreKey, from offset: Int) -> AsyncThrowingStream<[UInt8], any Error> {
        let reading = Reading(store: self, key: key, position: offset)
        return AsyncThrowingStream(unfolding: { try await reading.next() })
    }

    private final class Reading: @unchecked Sendable {
        // Asked for one piece at a time (an unfolding stream awaits each), so never by two threads at once.
        private let store: S3AttachmentStore, key: StoreKey
        private var position: Int
        private var done = false

        init(store: S3AttachmentStore, key: StoreKey, position: Int) {
            self.store = store
            self.key = key
            self.position = position
        }

        func next() async throws -> [UInt8]? {
            guard !done else { return nil }
            let size = S3AttachmentStore.readSize
            let answer: HTTPClientResponse
            do {
                answer = try await store.send(.GET, key: key, headers: [("range", "bytes=\(position)-\(position + size - 1)")],
                                              accepting: [200, 206])
            } catch StoreError.refused(status: 416, _) {
                // The range begins at the end: an empty file, or one whose size is a multiple of a piece.
                done = true
                return nil
            } catch StoreError.refused(status: 404, _) {
                throw StoreError.notFound
            }
            let piece = Array(buffer: try await answer.body.collect(upTo: size))
            position += piece.count
            if piece.count < size { done = true }
            return piece.isEmpty ? nil : piece
        }
    }

    func delete(_ key: StoreKey) async throws {
        let answer = try await send(.DELETE, key: key, accepting: [200, 204, 404])
        _ = try? await answer.body.collect(upTo: 64 * 1024)
    }

    /// Also aborts multipart uploads begun before `cutoff` and never completed: what a crash left
    /// of an unfinished upload.
    func keys(writtenBefore cutoff: Date) async throws -> [StoreKey] {
        let uploads = String(buffer: try await send(.GET, key: nil, query: [("uploads", "")]).body.collect(upTo: 8 * 1024 * 1024))
        for upload in S3XML.values("Upload", in: uploads) {
            guard let key = S3XML.values("Key", in: upload).first.flatMap(StoreKey.init),
                  let id = S3XML.values("UploadId", in: upload).first,
                  let begun = S3XML.values("Initiated", in: upload).first.flatMap(S3XML.date), begun < cutoff else { continue }
            if let answer = try? await send(.DELETE, key: key, query: [("uploadId", id)], accepting: [200, 204, 404]) {
                _ = try? await answer.body.collect(upTo: 64 * 1024)
            }
        }
        var found: [StoreKey] = []
        var token: String?
        repeat {
            var query = [("list-type", "2")]
            if let token { query.append(("continuation-token", token)) }
            let page = String(buffer: try await send(.GET, key: nil, query: query).body.collect(upTo: 8 * 1024 * 1024))
            for object in S3XML.values("Contents", in: page) {
                // Only names of the store's own shape; anything else in the bucket is left alone.
                guard let key = S3XML.values("Key", in: object).first.flatMap(StoreKey.init),
                      let written = S3XML.values("LastModified", in: object).first.flatMap(S3XML.date), written < cutoff else { continue }
                found.append(key)
            }
            token = S3XML.values("IsTruncated", in: page).first == "true" ? S3XML.values("NextContinuationToken", in: page).first : nil
        } while token != nil
        return found
    }

    enum StoreError: Error, Equatable {
        case refused(status: UInt, code: String)
        case unreadableAnswer
        case notFound
    }
}

/// The little of S3's XML the store reads: the text of elements by name, in documents whose shape
/// S3 fixes (no nesting of an element in one of the same name, no attributes on the ones read).
enum S3XML {
    /// The contents of every `<name>…</name>` in `document`, entities decoded.
    static func values(_ name: String, in document: String) -> [String] {
        var found: [String] = []
        var rest = document[...]
        while let open = rest.range(of: "<" + name) {
            rest = rest[open.upperBound...]
            // The name must end there (`<Upload` is not `<UploadId>`).
            guard let next = rest.first else { break }
            if next == "/" { found.append(""); continue }
            guard next == ">" || next == " ", let end = rest.firstIndex(of: ">") else { continue }
            let content = rest[rest.index(after: end)...]
            guard let close = content.range(of: "</" + name + ">") else { break }
            found.append(unescape(String(content[..<close.lowerBound])))
            rest = content[close.upperBound...]
        }
        return found
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    /// S3's timestamps: `2026-12-03T10:15:00.000Z`, with or without the fraction.
    static func date(_ text: String) -> Date? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return withFraction.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }
}
