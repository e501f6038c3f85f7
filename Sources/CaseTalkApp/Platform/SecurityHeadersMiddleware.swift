import Vapor

/// The headers every response carries (SPEC §5).
struct SecurityHeadersMiddleware: Middleware {
    static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
        "font-src 'self'", "connect-src 'self'", "form-action 'self'", "frame-ancestors 'none'",
        "base-uri 'none'",
    ].joined(separator: "; ")

    func respond(to req: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        next.respond(to: req).map { response in
            for (name, value) in Self.headers { response.headers.replaceOrAdd(name: name, value: value) }
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
