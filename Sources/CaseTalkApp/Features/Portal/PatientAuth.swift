import CaseTalkCore
import Fluent
import SQLKit
import Vapor

/// The signed-in patient, as the portal pages need them.
struct SignedInPatient: Sendable {
    let id: UUID
    let name: String
}

/// Admits signed-in patients only; anyone else is sent to sign in.
struct RequirePatientMiddleware: AsyncMiddleware {
    func respond(to req: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        struct Row: Decodable { let name: String }
        guard case .patient(let id)? = req.session?.principal,
              let patient = try await req.db.sql.select().column("name").from(Patient.schema)
                .where("id", .equal, SQLBind(id)).first(decoding: Row.self) else { return req.redirectToSignIn() }
        req.storage[SignedInPatientKey.self] = SignedInPatient(id: id, name: patient.name)
        return try await next.respond(to: req)
    }
}

private struct SignedInPatientKey: StorageKey { typealias Value = SignedInPatient }

extension Request {
    func requirePatient() throws -> SignedInPatient {
        guard let patient = storage[SignedInPatientKey.self] else { throw Abort(.unauthorized) }
        return patient
    }

    /// The chrome for a page seen by the signed-in patient.
    func patientChrome(_ title: String, notice: String? = nil) throws -> PageChrome {
        PageChrome(title: title, csrf: session?.csrfToken, userName: try requirePatient().name, notice: notice, isPatient: true)
    }
}
