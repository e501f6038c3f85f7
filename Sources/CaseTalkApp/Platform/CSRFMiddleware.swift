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
        let sent = req.headers.first(name: "X-CSRF-Token") ?? Self.formField(req, body)
        guard let session = req.session, let sent, ConstantTime.equal(sent, session.csrfToken) else {
            req.logger.notice("request rejected: missing or wrong CSRF token")
            throw PublicError.csrfRejected
        }
        return try await next.respond(to: req)
    }

    /// The token from the form: found in the urlencoded body without decoding the rest of it;
    /// any other kind of body through Vapor's decoders.
    private static func formField(_ req: Request, _ body: ByteBuffer?) -> String? {
        if req.headers.contentType == .urlEncodedForm {
            return body.flatMap { FormField.first(named: fieldName, in: $0.readableBytesView) }
        }
        return try? req.content.get(String.self, at: fieldName)
    }
}
