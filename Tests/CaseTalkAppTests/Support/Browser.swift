@testable import CaseTalkApp
import Foundation
import NIOHTTP1
import Testing
import VaporTesting

/// Plays the part of one person's browser: keeps the session cookie and reads CSRF tokens from
/// the pages it gets, so tests go through the same forms a person does.
final class Browser {
    let app: Application
    /// Every cookie the server set and has not cleared, by name.
    private var jar: [String: String] = [:]
    private(set) var csrf: String?

    var sessionCookie: String? {
        get { jar[app.caseTalk.cookies.session] }
        set { jar[app.caseTalk.cookies.session] = newValue }
    }
    /// The remembered-browser cookie (SPEC §5), kept like a browser keeps it.
    var deviceCookie: String? {
        get { jar[app.caseTalk.cookies.device] }
        set { jar[app.caseTalk.cookies.device] = newValue }
    }
    /// The visitor's form cookie (the CSRF token before there is a session).
    var visitorCookie: String? { jar[app.caseTalk.cookies.visitor] }

    init(_ app: Application) { self.app = app }

    /// Uses another browser's cookie (to show that a stolen or old cookie no longer works).
    func useCookie(_ cookie: String?) { sessionCookie = cookie }

    /// Every cookie this browser holds, to give to another tab (`useCookies`).
    var cookies: [String: String] { jar }

    /// Takes every cookie of another tab of the same browser.
    func useCookies(_ cookies: [String: String]) { jar = cookies }

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
    func post(_ path: String, _ fields: [(String, String)], csrf override: String?? = nil,
              extraHeaders: HTTPHeaders = [:]) async throws -> TestingHTTPResponse {
        var all = fields
        let token: String? = switch override { case .some(let value): value; case .none: csrf }
        if let token { all.append(("_csrf", token)) }
        var headers = headers()
        headers.add(contentsOf: extraHeaders)
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

    /// Uses another browser's device cookie (a copied or revoked one).
    func useDeviceCookie(_ cookie: String?) { deviceCookie = cookie }

    /// Opens the sign-in page and signs in, second step included: a staff member types the code
    /// their app would show (`TwoStepSupport`); a patient on a browser not seen before has a
    /// code texted to the verified phone (read from the `RecordingPhones` in use).
    @discardableResult
    func signIn(_ email: String, password: String = Fixtures.password, remember: Bool = false) async throws -> TestingHTTPResponse {
        try await get("/login")
        let answer = try await post("/login", [("email", email), ("password", password)])
        return try await secondStep(after: answer, email: email, remember: remember)
    }

    /// The password alone: the answer that leads to the second step (or the failure).
    @discardableResult
    func signInPasswordOnly(_ email: String, password: String = Fixtures.password) async throws -> TestingHTTPResponse {
        try await get("/login")
        return try await post("/login", [("email", email), ("password", password)])
    }

    @discardableResult
    func secondStep(after answer: TestingHTTPResponse, email: String, remember: Bool = false) async throws -> TestingHTTPResponse {
        guard let location = answer.location else { return answer }
        // The page to return to travels in the forms' hidden field, as the pages carry it.
        let next = URLComponents(string: location)?.queryItems?.first { $0.name == "next" }?.value.map { [("next", $0)] } ?? []
        if location.hasPrefix("/login/two-step") {
            let code = try await TwoStepSupport.nextCode(app, email: email)
            return try await submit("/login/two-step", [("code", code)] + next, from: location)
        }
        if location.hasPrefix("/login/verify") {
            guard let phones = app.caseTalk.phones as? RecordingPhones else { return answer }
            let sent = try await submit("/login/verify/method", [("route", "sms-mobile")] + next, from: location)
            guard sent.location?.hasPrefix("/login/verify/code") == true, let code = phones.lastCode else { return sent }
            return try await submit("/login/verify/code", [("code", code)] + next + (remember ? [("remember", "on")] : []),
                                    from: sent.location)
        }
        return answer
    }

    /// What this browser calls itself, as every real one does.
    static let userAgent = "CaseTalkTests/1.0 (Swift)"

    private func headers() -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: .userAgent, value: Self.userAgent)
        if !jar.isEmpty { headers.add(name: .cookie, value: jar.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")) }
        return headers
    }

    private func remember(_ response: TestingHTTPResponse) {
        for header in response.headers[.setCookie] {
            let pair = header.split(separator: ";")[0]
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count == 2 { jar[String(parts[0])] = parts[1].isEmpty ? nil : String(parts[1]) }
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

/// One part of a `multipart/form-data` body, as a browser writes a form with files.
struct FormPart {
    let name: String
    let filename: String?
    let contentType: String?
    let bytes: [UInt8]

    static func field(_ name: String, _ value: String) -> FormPart {
        FormPart(name: name, filename: nil, contentType: nil, bytes: Array(value.utf8))
    }

    static func file(_ filename: String, _ bytes: [UInt8], type: String = "application/octet-stream", name: String = "files") -> FormPart {
        FormPart(name: name, filename: filename, contentType: type, bytes: bytes)
    }
}

extension Browser {
    static let boundary = "----CaseTalkTestBoundary7MA4YWxkTrZu0gW"

    /// The body a browser sends for these parts.
    static func multipart(_ parts: [FormPart]) -> [UInt8] {
        var body: [UInt8] = []
        for part in parts {
            var head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part.name)\""
            if let filename = part.filename { head += "; filename=\"\(filename)\"" }
            head += "\r\n"
            if let type = part.contentType { head += "Content-Type: \(type)\r\n" }
            body += Array((head + "\r\n").utf8) + part.bytes + Array("\r\n".utf8)
        }
        return body + Array("--\(boundary)--\r\n".utf8)
    }

    /// Posts a form with files: the CSRF token last seen first (as every form writes it), unless
    /// `csrf` says otherwise; `csrfLast` puts it after the other parts.
    @discardableResult
    func postFiles(_ path: String, _ parts: [FormPart], csrf override: String?? = nil, csrfLast: Bool = false,
                   extraHeaders: HTTPHeaders = [:]) async throws -> TestingHTTPResponse {
        let token: String? = switch override { case .some(let value): value; case .none: csrf }
        let tokenPart = token.map { [FormPart.field("_csrf", $0)] } ?? []
        return try await postFiles(path, body: Self.multipart(csrfLast ? parts + tokenPart : tokenPart + parts), extraHeaders: extraHeaders)
    }

    /// Posts `body` as a form with files, as it is.
    @discardableResult
    func postFiles(_ path: String, body: [UInt8], extraHeaders: HTTPHeaders = [:]) async throws -> TestingHTTPResponse {
        var sent = headers()
        sent.add(contentsOf: extraHeaders)
        sent.add(name: .contentType, value: "multipart/form-data; boundary=\(Self.boundary)")
        let response = try await app.testing().sendRequest(.POST, path, headers: sent, body: ByteBuffer(bytes: body))
        remember(response)
        return response
    }
}
