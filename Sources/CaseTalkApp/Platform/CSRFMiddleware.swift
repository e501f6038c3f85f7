import CaseTalkCore
import Vapor

/// Rejects every state-changing request whose `_csrf` form field (or `X-CSRF-Token` header) does
/// not match the session's token, or a visitor's without a session (`formToken`; SPEC §5).
/// Forms with files, posted under `Paths.uploadPrefix`, stream past it unread: `Uploads.receive`
/// checks their token (their first field, or the header) before it stores anything.
struct CSRFMiddleware: Middleware {
    static let fieldName = "_csrf"
    let maxBodySize: Int

    func respond(to req: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        guard ![.GET, .HEAD, .OPTIONS].contains(req.method) else { return next.respond(to: req) }
        if req.url.path.hasPrefix(Paths.uploadPrefix), Uploads.boundary(contentType: req.headers.first(name: .contentType)) != nil {
            return next.respond(to: req)
        }
        return req.body.collect(max: maxBodySize)
            .flatMapErrorThrowing { _ in throw PublicError.tooLarge }
            .flatMap { body in
                // A body that arrived whole is not measured by `collect`, so the size is checked here too.
                guard (body?.readableBytes ?? 0) <= maxBodySize else { return req.eventLoop.makeFailedFuture(PublicError.tooLarge) }
                let sent = req.headers.first(name: "X-CSRF-Token") ?? req.formField(Self.fieldName)
                guard let expected = req.expectedFormToken, let sent, ConstantTime.equal(sent, expected) else {
                    req.logger.notice("request rejected: missing or wrong CSRF token")
                    return req.eventLoop.makeFailedFuture(PublicError.csrfRejected)
                }
                return next.respond(to: req)
            }
    }
}

extension Request {
    /// One field of the posted form, read from the collected body without decoding the rest (see
    /// `FormField`); bodies of any other kind go through Vapor's decoders. For the checks every post
    /// runs and the busiest forms; other forms decode into their `Content` types.
    func formField(_ name: String) -> String? {
        if hasURLEncodedBody {
            return body.data.flatMap { FormField.first(named: name, in: $0.readableBytesView) }
        }
        return try? content.get(String.self, at: name)
    }

    /// `Content-Type: application/x-www-form-urlencoded` (any parameters after it), read without
    /// parsing the header into a media type (which showed in the cost of a send).
    private var hasURLEncodedBody: Bool {
        guard let value = headers.first(name: .contentType) else { return false }
        let type = "application/x-www-form-urlencoded"
        guard value.utf8.count >= type.utf8.count, value.prefix(type.count).lowercased() == type else { return false }
        let rest = value.dropFirst(type.count).first
        return rest == nil || rest == ";" || rest == " "
    }
}
