import CaseTalkCore
import Fluent
import Foundation
import Vapor

/// **Remember this browser for 30 days** (SPEC §5): a device cookie whose hash names its
/// patient. A sign-in that brings a live one skips the phone code. A password change forgets
/// every browser of the account.
package enum RememberedBrowsers {
    static let lifetime: TimeInterval = 30 * 24 * 3600

    /// Whether `token` (the cookie's value) is a live remembered browser of `patientID`.
    static func recognises(_ token: String?, patientID: UUID, now: Date, on db: any Database) async throws -> Bool {
        guard let token, SecureRandom.isTokenShaped(token) else { return false }
        return try await RememberedBrowsersTable.isLive(tokenHash: Digest.sha256Hex(token), patientID: patientID, now: now, on: db)
    }

    /// Remembers a new browser for `patientID`; the token is the cookie's value.
    package static func remember(patientID: UUID, now: Date, on db: any Database) async throws -> String {
        let token = SecureRandom.token()
        try await RememberedBrowsersTable.insert(tokenHash: Digest.sha256Hex(token), patientID: patientID, now: now,
                                                 expiresAt: now.addingTimeInterval(lifetime), on: db)
        return token
    }

    /// Forgets every browser of the account (a password change; Sign out other sessions).
    static func forgetAll(patientID: UUID, on db: any Database) async throws {
        try await RememberedBrowsersTable.deleteAll(patientID: patientID, on: db)
    }

    /// Expired rows, swept with the sessions.
    static func sweepExpired(now: Date, on db: any Database) async throws {
        try await RememberedBrowsersTable.deleteExpired(now: now, on: db)
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
