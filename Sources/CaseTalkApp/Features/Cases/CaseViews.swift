import CaseTalkCore
import CaseTalkViews
import Foundation

/// What the case pages show of the database's rows; the pages' models are in `CaseTalkViews`.
enum CaseViews {
    static func member(_ row: CasesTable.Member) -> CaseMemberModel {
        CaseMemberModel(id: row.id, name: row.name, role: row.role == "doctor" ? "Doctor" : "Staff", practiceName: row.practiceName)
    }

    static func header(_ patientCase: PatientCase, tab: CaseHeader.Tab) -> CaseHeader {
        CaseHeader(id: patientCase.id ?? UUID(), patientName: patientCase.patientName, title: patientCase.title, tab: tab)
    }
}
