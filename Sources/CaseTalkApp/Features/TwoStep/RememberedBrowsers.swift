import CaseTalkCore
import Fluent
import Foundation
import SQLKit
import Vapor

/// **Remember this browser for 30 days** (SPEC §5): a device cookie whose hash names its
/// patient. A sign-in that brings a live one skips the phone code. A password change forgets
/// every browser of the account.
enum RememberedBrowsers {
    static let lifetime: TimeInterval = 30 * 24 * 3600

    /// Whether `token` (the cookie's value) is a live remembered browser of `patientID`.
    static func recognises(_ token: String?, patientID: UUID, now: Date, on db: any Database) async throws -> Bool {
        guard let token, SecureRandom.isTokenShaped(token) else { return false }
        return try await !db.sql.raw("""
            SELECT token_hash FROM remembered_browsers
            WHERE token_hash = \(bind: Digest.sha256Hex(token)) AND patient_id = \(bind: patientID) AND expires_at > \(bind: now)
            """).all().isEmpty
    }

    /// Remembers a new browser for `patientID`; the token is the cookie's value.
    static func remember(patientID: UUID, now: Date, on db: any Database) async throws -> String {
        let token = SecureRandom.token()
        try await db.sql.raw("""
            INSERT INTO remembered_browsers (token_hash, patient_id, created_at, expires_at)
            VALUES (\(bind: Digest.sha256Hex(token)), \(bind: patientID), \(bind: now), \(bind: now.addingTimeInterval(lifetime)))
            """).run()
        return token
    }

    /// Forgets every browser of the account (a password change; Sign out other sessions).
    static func forgetAll(patientID: UUID, on db: any Database) async throws {
        try await db.sql.raw("DELETE FROM remembered_browsers WHERE patient_id = \(bind: patientID)").run()
    }

    /// Expired rows, swept with the sessions.
    static func sweepExpired(now: Date, on db: any Database) async throws {
        try await db.sql.raw("DELETE FROM remembered_browsers WHERE expires_at <= \(bind: now)").run()
    }

}

extension Request {
    /// The device cookie this browser brought, if any.
    var rememberedBrowserToken: String? { cookies[caseTalk.cookies.device]?.string }

    /// Sets the remembered-browser cookie on `response` (30 days).
    func rememberBrowser(_ token: String, on response: Response) {
        response.cookies[caseTalk.cookies.device] = caseTalk.cookies.value(token, maxAge: RememberedBrowsers.lifetime)
    }
}
