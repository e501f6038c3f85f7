import Foundation
import Vapor

extension Request {
    /// The case named by `:caseID`, found only among the signed-in member's cases; anything
    /// else (not a member, no such case, not an id) is the same 404.
    func memberCase() async throws -> (staff: SignedInStaff, patientCase: PatientCase) {
        let staff = try requireStaff()
        guard let caseID = parameters.get("caseID", as: UUID.self),
              let found = try await CaseQueries.find(caseID, forMember: staff.id, on: db) else {
            throw PublicError.notFound
        }
        return (staff, found)
    }

    /// The id of the case named by `:caseID`, under the same rule as `memberCase()`, for actions
    /// that need nothing else of the case (one small query instead of loading it).
    func memberCaseID() async throws -> (staff: SignedInStaff, caseID: UUID) {
        let staff = try requireStaff()
        guard let caseID = parameters.get("caseID", as: UUID.self),
              try await CaseQueries.isMember(staff.id, of: caseID, on: db) else {
            throw PublicError.notFound
        }
        return (staff, caseID)
    }
}

extension CaseViews {
    static func header(_ patientCase: PatientCase, tab: String) -> Header {
        Header(id: patientCase.id?.uuidString ?? "", patientName: patientCase.patientName, title: patientCase.title, tab: tab)
    }
}
