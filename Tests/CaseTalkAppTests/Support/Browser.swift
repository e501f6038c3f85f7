@testable import CaseTalkApp
import Foundation
import NIOHTTP1
import Testing
import VaporTesting

/// Plays the part of one person's browser: keeps the session cookie and reads CSRF tokens from
/// the pages it gets, so tests go through the same forms a person does.
final class Browser {
    let app: Application
    private(set) var sessionCookie: String?
    private(set) var csrf: String?

    init(_ app: Application) { self.app = app }

    /// Uses another browser's cookie (to show that a stolen or old cookie no longer works).
    func useCookie(_ cookie: String?) { sessionCookie = cookie }

    @discardableResult
    func get(_ path: String, extraHeaders: HTTPHeaders = [:]) async throws -> TestingHTTPResponse {
        var headers = headers()
        headers.add(contentsOf: extraHeaders)
        let response = try await app.testing().sendRequest(.GET, path, headers: headers)
        remember(response)
        return response
    }

    /// Posts a form. The CSRF token last seen is added unless `csrf` says otherwise.
    @discardableResult
    func post(_ path: String, _ fields: [(String, String)], csrf override: String?? = nil) async throws -> TestingHTTPResponse {
        var all = fields
        let token: String? = switch override { case .some(let value): value; case .none: csrf }
        if let token { all.append(("_csrf", token)) }
        var headers = headers()
        headers.contentType = .urlEncodedForm
        let body = all.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        let response = try await app.testing().sendRequest(.POST, path, headers: headers, body: ByteBuffer(string: body))
        remember(response)
        return response
    }

    /// GETs `page` (or `path`) for its CSRF token, then posts `fields` to `path`, as a person does.
    @discardableResult
    func submit(_ path: String, _ fields: [(String, String)], from page: String? = nil) async throws -> TestingHTTPResponse {
        try await get(page ?? path)
        return try await post(path, fields)
    }

    /// Opens the sign-in page and signs in.
    @discardableResult
    func signIn(_ email: String, password: String = Fixtures.password) async throws -> TestingHTTPResponse {
        try await get("/login")
        return try await post("/login", [("email", email), ("password", password)])
    }

    private func headers() -> HTTPHeaders {
        var headers = HTTPHeaders()
        if let sessionCookie { headers.add(name: .cookie, value: "\(SessionMiddleware.cookieName)=\(sessionCookie)") }
        return headers
    }

    private func remember(_ response: TestingHTTPResponse) {
        for header in response.headers[.setCookie] {
            let pair = header.split(separator: ";")[0]
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count == 2, parts[0] == SessionMiddleware.cookieName {
                sessionCookie = parts[1].isEmpty ? nil : String(parts[1])
            }
        }
        if let token = Self.firstMatch(in: response.body.string, after: "name=\"_csrf\" value=\"") {
            csrf = token
        }
    }

    static func firstMatch(in html: String, after marker: String) -> String? {
        guard let start = html.range(of: marker) else { return nil }
        let rest = html[start.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }

    static func encode(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~"))) ?? ""
    }
}

extension TestingHTTPResponse {
    var location: String? { headers.first(name: .location) }
}
