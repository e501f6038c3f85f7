import CaseTalkCore
import Vapor

/// Rejects every state-changing request whose `_csrf` form field (or `X-CSRF-Token` header) does
/// not match the session's token (SPEC §5).
struct CSRFMiddleware: AsyncMiddleware {
    static let fieldName = "_csrf"
    let maxBodySize: Int

    func respond(to req: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard ![.GET, .HEAD, .OPTIONS].contains(req.method) else { return try await next.respond(to: req) }
        // A body that arrived whole is not measured by `collect`, so the size is checked here too.
        let body: ByteBuffer?
        do { body = try await req.body.collect(max: maxBodySize).get() } catch { throw PublicError.tooLarge }
        guard (body?.readableBytes ?? 0) <= maxBodySize else { throw PublicError.tooLarge }
        let sent = req.headers.first(name: "X-CSRF-Token") ?? req.formField(Self.fieldName)
        guard let session = req.session, let sent, ConstantTime.equal(sent, session.csrfToken) else {
            req.logger.notice("request rejected: missing or wrong CSRF token")
            throw PublicError.csrfRejected
        }
        return try await next.respond(to: req)
    }

}

extension Request {
    /// One field of the posted form, read from the collected body without decoding the rest (see
    /// `FormField`); bodies of any other kind go through Vapor's decoders. For the checks every post
    /// runs and the busiest forms; other forms decode into their `Content` types.
    func formField(_ name: String) -> String? {
        if headers.contentType == .urlEncodedForm {
            return body.data.flatMap { FormField.first(named: name, in: $0.readableBytesView) }
        }
        return try? content.get(String.self, at: name)
    }
}
