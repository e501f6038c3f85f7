import CaseTalkCore
import Vapor

/// An attached file, for the two people who see its message (SPEC §8): the detected type,
/// `nosniff`, `no-store` and the sandboxing policy (`SecurityHeadersMiddleware`), shown in the
/// browser only when it is a cleaned image, and otherwise saved. Anyone else, signed in or not,
/// gets 404.
struct FilesController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("files", ":fileID", use: file)
    }

    func file(req: Request) async throws -> Response {
        guard let id = req.parameters.get("fileID", as: UUID.self),
              let opened = try await Attachments.open(id, download: req.query[String.self, at: "download"] == "1",
                                                      size: req.query[String.self, at: "size"].flatMap(Paths.FileSize.init(rawValue:)),
                                                      req.useCase) else {
            throw PublicError.notFound
        }
        var headers = HTTPHeaders()
        headers.replaceOrAdd(name: .contentType, value: opened.type?.mediaType ?? "application/octet-stream")
        headers.replaceOrAdd(name: .contentDisposition, value: Self.disposition(inline: opened.inline, name: opened.name))
        let allocator = req.byteBufferAllocator
        let body = Response.Body(managedAsyncStream: { writer in
            try await opened.content { bytes in try await writer.writeBuffer(allocator.buffer(bytes: bytes)) }
        }, count: opened.bytes ?? -1)
        return Response(status: .ok, headers: headers, body: body)
    }

    /// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): the plain name with anything
    /// outside printable ASCII, quotes and backslashes replaced, and the exact name percent-encoded.
    static func disposition(inline: Bool, name: String) -> String {
        let plain = String(name.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "\\" ? Character($0) : "_" })
        var encoded: [UInt8] = []
        Paths.escape(name, keepingSlash: false, into: &encoded)
        return "\(inline ? "inline" : "attachment"); filename=\"\(plain)\"; filename*=UTF-8''\(String(decoding: encoded, as: UTF8.self))"
    }
}
