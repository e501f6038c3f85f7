import Vapor

/// The headers every response carries (SPEC §5).
struct SecurityHeadersMiddleware: Middleware {
    static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
        "font-src 'self'", "connect-src 'self'", "form-action 'self'", "frame-ancestors 'none'",
        "base-uri 'none'",
    ].joined(separator: "; ")

    /// For attached files (SPEC §8): nothing in one may run, load or be framed, even if a browser
    /// were tricked into reading it as a page.
    static let filePolicy = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox"
    static let filePrefix = "/files/"

    func respond(to req: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        next.respond(to: req).map { response in
            for (name, value) in Self.headers { response.headers.replaceOrAdd(name: name, value: value) }
            if req.url.path.hasPrefix(Self.filePrefix) {
                response.headers.replaceOrAdd(name: "Content-Security-Policy", value: Self.filePolicy)
            }
            // Review L2: on https, browsers are told to come back only over https for a year.
            if req.caseTalk.config.usesSecureCookies {
                response.headers.replaceOrAdd(name: "Strict-Transport-Security", value: Self.strictTransportSecurity)
            }
            // Only style sheets, scripts and static data may be cached; every page may carry patient information.
            if !PublicFilesMiddleware.folders.contains(where: { req.url.path.hasPrefix($0) }) {
                response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
            }
            return response
        }
    }

    static let strictTransportSecurity = "max-age=31536000; includeSubDomains"

    private static let headers = [
        ("Content-Security-Policy", contentSecurityPolicy),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
}
