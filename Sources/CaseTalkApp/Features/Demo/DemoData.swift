import CaseTalkCore
import Fluent
import Foundation

/// The demo practice of SPEC §7: two doctors, one staff member, a few cases, and a doctor at a
/// second practice to show referrals between offices. The sign-ins are fixed so that they can
/// be printed and used by the browser tests.
enum DemoData {
    struct SignIn: Sendable {
        let name: String
        let email: String
        let role: String
    }

    static let password = "riverside-demo-2026"

    static let people: [(practice: Int, name: String, email: String, role: StaffRole, admin: Bool)] = [
        (0, "Dr. Maya Chen", "maya.chen@riverside.example", .doctor, true),
        (0, "Dr. Omar Haddad", "omar.haddad@riverside.example", .doctor, false),
        (0, "Lena Brooks", "lena.brooks@riverside.example", .staff, false),
        (1, "Dr. Felix Grant", "felix.grant@northside.example", .doctor, false),
    ]

    static var signIns: [SignIn] { people.map { SignIn(name: $0.name, email: $0.email, role: $0.role.label) } }

    /// True when nothing has been created yet (no practice).
    static func isEmpty(_ db: any Database) async throws -> Bool {
        try await Practice.query(on: db).count() == 0
    }

    /// Adds the demo data; does nothing when the first demo account already exists.
    @discardableResult
    static func seed(on db: any Database, services: CaseTalkServices, now: Date) async throws -> Bool {
        guard try await StaffUser.query(on: db).filter(\.$email == people[0].email).count() == 0 else { return false }
        let practices = [
            try await StaffAccounts.createPractice(name: "Riverside Dental Care", at: now, auditKey: services.auditKey, on: db),
            try await StaffAccounts.createPractice(name: "Northside Oral Surgery", at: now, auditKey: services.auditKey, on: db),
        ]
        var staff: [StaffUser] = []
        for person in people {
            staff.append(try await StaffAccounts.createStaff(
                .init(practiceID: try practices[person.practice].requireID(), email: person.email, name: person.name,
                      role: person.role, isAdmin: person.admin, password: password),
                services: services, at: now, on: db))
            // SPEC §9: the demo accounts come with two-step verification set up; the development
            // mailbox shows each one's current code.
            _ = try await StaffTwoStep.turnOn(staffID: try staff.last!.requireID(), key: TOTP.newKey(), usedStep: nil,
                                              sealer: services.sealer, auditKey: services.auditKey, now: now, clientAddress: "demo", on: db)
        }
        let cases: [(first: String, last: String, dob: String?, title: String, notes: String, members: [Int], ageHours: Double)] = [
            ("Jordan", "Miles", "1987-04-12", "Implant planning, lower left molar", "Referred for implant consult.", [0, 3], 2),
            ("Priya", "Patel", "1993-09-30", "Orthodontic review", "Six-month aligner check.", [0, 1], 26),
            ("Sam", "Ortega", nil, "Wisdom tooth extraction follow-up", "Post-op check after extraction.", [0, 2], 72),
        ]
        for item in cases {
            let patientCase = PatientCase(practiceID: try practices[0].requireID(), patientFirstName: item.first, patientLastName: item.last,
                                          patientDateOfBirth: item.dob, title: item.title, notes: item.notes,
                                          createdByID: try staff[item.members[0]].requireID(),
                                          createdAt: now.addingTimeInterval(-item.ageHours * 3600))
            try await patientCase.create(on: db)
            for index in item.members {
                try await CaseMember(caseID: patientCase.id!, staffID: try staff[index].requireID(),
                                     addedByID: nil, addedAt: patientCase.createdAt).create(on: db)
            }
        }
        return true
    }

    static func signInSummary() -> String {
        var lines = ["Demo sign-ins (password for all: \(password); the two-step codes are on /dev/mailbox):"]
        for person in signIns { lines.append("  \(person.email)  \(person.name) (\(person.role))") }
        return lines.joined(separator: "\n")
    }
}
