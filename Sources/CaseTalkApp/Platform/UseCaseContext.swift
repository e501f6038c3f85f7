import CaseTalkCore
import Fluent
import Foundation
import Vapor

/// What a use case needs from the request that asked for it: the services, the database, the
/// moment (read once), where the request came from and who is signed in. Controllers build it
/// once per request (`req.useCase`); commands, the background worker and tests build it
/// directly. Nothing below the controllers takes a `Request`.
struct UseCaseContext: Sendable {
    let services: CaseTalkServices
    let db: any Database
    let now: Date
    /// The client's address, for the audit trail and the rate limits (see `Request.clientAddress`).
    let clientAddress: String
    /// The browser's User-Agent header as it came.
    let userAgentHeader: String
    /// The signed-in person, if any.
    let signedIn: Principal?

    init(services: CaseTalkServices, db: any Database, now: Date, clientAddress: String, userAgentHeader: String = "",
         signedIn: Principal? = nil) {
        self.services = services; self.db = db; self.now = now; self.clientAddress = clientAddress
        self.userAgentHeader = userAgentHeader; self.signedIn = signedIn
    }

    /// The User-Agent, printable and at most 300 characters (kept with a Terms acceptance): made
    /// only where it is kept, not for every request.
    var userAgent: String { Self.printable(userAgentHeader, max: 300) }

    /// The same context on `db` (a transaction).
    func on(_ db: any Database) -> UseCaseContext {
        UseCaseContext(services: services, db: db, now: now, clientAddress: clientAddress, userAgentHeader: userAgentHeader,
                       signedIn: signedIn)
    }

    /// Records an audit entry on this context's database, at its moment, from its address.
    func audit(_ action: AuditAction, actor: AuditActor, subject: String = "", userAgent: String = "") async throws {
        try await Audit.record([AuditDraft(action: action, actor: actor, subject: subject, clientAddress: clientAddress,
                                           at: now, userAgent: userAgent)],
                               key: services.auditKey, on: db)
    }

    /// Printable ASCII only, cut to `max` characters: for browser-supplied text kept as evidence.
    static func printable(_ text: String, max: Int) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.prefix(max)))
    }
}

extension Request {
    /// This request's use-case context (build it once per handler and pass it on).
    var useCase: UseCaseContext {
        UseCaseContext(services: caseTalk, db: db, now: now, clientAddress: clientAddress,
                       userAgentHeader: headers.first(name: .userAgent) ?? "",
                       signedIn: session?.principal)
    }
}
