import CaseTalkCore
import Foundation
import Vapor

/// The cookies CaseTalk sets: the session, a visitor's form cookie (the CSRF token of a form
/// shown before there is a session), and a remembered browser. All are HttpOnly, SameSite=Lax,
/// Path=/. On https each is Secure and its name has the `__Host-` prefix (review L3): browsers
/// keep such a cookie only when it is Secure, for Path=/ and without Domain, so a sibling host
/// or a plain-http page cannot plant or overwrite it (RFC 6265bis §4.1.3.2).
struct BrowserCookies: Sendable {
    let session: String
    let visitor: String
    let device: String
    let secure: Bool

    init(secure: Bool) {
        let prefix = secure ? "__Host-" : ""
        session = prefix + "casetalk_session"
        visitor = prefix + "casetalk_form"
        device = prefix + "casetalk_device"
        self.secure = secure
    }

    /// A cookie with `token` as its value; without `maxAge` it lasts until the browser closes.
    func value(_ token: String, maxAge: TimeInterval? = nil) -> HTTPCookies.Value {
        HTTPCookies.Value(string: token, maxAge: maxAge.map { Int($0) }, path: "/", isSecure: secure, isHTTPOnly: true,
                          sameSite: .lax)
    }

    /// Tells the browser to drop the cookie.
    func cleared() -> HTTPCookies.Value {
        HTTPCookies.Value(string: "", expires: Date(timeIntervalSince1970: 0), maxAge: 0, path: "/", isSecure: secure,
                          isHTTPOnly: true, sameSite: .lax)
    }
}

extension Request {
    /// The CSRF token for the forms of this page (SPEC §5): the session's; for a visitor without
    /// one, an HMAC of a random cookie of theirs, so the sign-in and Forgot password? forms need no
    /// session row (review M7: every cookieless GET used to store one). The cookie is set with the
    /// response when the visitor had none.
    func formToken() -> String {
        if let session { return session.csrfToken }
        if let cookie = visitorCookie { return visitorToken(cookie) }
        let drawn = storage[VisitorCookieKey.self] ?? SecureRandom.token()
        storage[VisitorCookieKey.self] = drawn
        return visitorToken(drawn)
    }

    /// What a posted form must carry: the session's token, or without a session the visitor's
    /// (nil when the visitor brought no form cookie, so the post is refused).
    var expectedFormToken: String? {
        session?.csrfToken ?? visitorCookie.map(visitorToken)
    }

    /// A visitor cookie drawn during this request, for `SessionMiddleware` to set.
    var newVisitorCookie: String? { storage[VisitorCookieKey.self] }

    private var visitorCookie: String? {
        guard let value = cookies[caseTalk.cookies.visitor]?.string, SecureRandom.isTokenShaped(value) else { return nil }
        return value
    }

    private func visitorToken(_ cookie: String) -> String {
        caseTalk.codeHasher.token(cookie, scope: "visitor-form")
    }
}

private struct VisitorCookieKey: StorageKey { typealias Value = String }
