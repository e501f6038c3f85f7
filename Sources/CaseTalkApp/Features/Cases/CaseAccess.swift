import Foundation
import Vapor

extension Request {
    /// The case named by `:caseID`, found only among the signed-in member's cases; anything
    /// else (not a member, no such case, not an id) is the same 404.
    func memberCase() async throws -> (staff: SignedInStaff, patientCase: PatientCase) {
        let staff = try requireStaff()
        guard let caseID = parameters.get("caseID", as: UUID.self),
              let found = try await CasesTable.find(caseID, forMember: staff.id, on: db) else {
            throw PublicError.notFound
        }
        return (staff, found)
    }
}

