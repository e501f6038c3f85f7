import CaseTalkCore
import Foundation

/// The typed contexts of the case pages; built by `CasesController`, never from models directly.
enum CaseViews {
    struct ListItem: Encodable {
        let id: String
        let patientName: String
        let title: String
        let lastActivity: String
        let unread: Int
    }

    struct ListPage: Encodable {
        let chrome: PageChrome
        let cases: [ListItem]
        let page: Int
        let previousPage: Int?
        let nextPage: Int?
    }

    struct NewCaseValues: Encodable {
        var firstName = "", lastName = "", dateOfBirth = "", patientEmail = "", title = "", notes = ""
    }

    struct NewCasePage: Encodable {
        let chrome: PageChrome
        let values: NewCaseValues
        let errors: [String: String]
        let errorList: [String]
    }

    /// The case header and tabs, shared by the Overview and Patient Talk tabs.
    struct Header: Encodable {
        let id: String
        let patientName: String
        let title: String
        let tab: String
    }

    struct Member: Encodable {
        let id: String
        let name: String
        let role: String
        let practiceName: String
    }

    struct OverviewPage: Encodable {
        let chrome: PageChrome
        let header: Header
        let practiceName: String
        let dateOfBirth: String?
        let patientEmail: String?
        let notes: String?
        let createdAt: String
        let members: [Member]
        let search: String
        let searched: Bool
        let results: [Member]
        let searchError: String?
    }

    static func member(_ row: CaseQueries.MemberRow) -> Member {
        Member(id: row.id.uuidString, name: row.name, role: row.role == "doctor" ? "Doctor" : "Staff",
               practiceName: row.practice_name)
    }

    /// Dates are shown in UTC, labelled, until people can choose their time zone.
    static func display(_ date: Date) -> String {
        DisplayDate.utc(secondsSince1970: date.timeIntervalSince1970)
    }
}
