import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation

/// The load-test data set of `bench/run`, made from a seed so every run measures the same thing:
/// 20 members in two practices, 200 registered patients, 2,000 Patient Talk conversations; one
/// patient ("heavy") with 10,000 messages across 400 conversations; one conversation with 1,000
/// messages and one with 50. Written straight through the models (bodies sealed as in a real
/// send), in large batches, into an empty database.
enum BenchFixtures {
    static let password = "bench-password-2026"
    static let members = 20
    static let patients = 200
    static let conversations = 2_000
    static let heavyConversations = 400
    static let heavyMessages = 10_000
    static let longThread = 1_000
    static let pageThread = 50

    static func memberEmail(_ i: Int) -> String { "member\(i)@bench.example" }
    static func patientEmail(_ i: Int) -> String { "patient\(i)@bench.example" }

    /// What the load scripts need to find their way: ids of the cases and conversations.
    struct Manifest: Codable {
        var password: String
        var members: [String]
        /// Patient 0 is the heavy one; patients 1 and 2 own the long and the 50-message thread.
        var patients: [String]
        /// For each member, the cases they can write on (S2 spreads sends over them).
        var memberCases: [[UUID]]
        var heavyPatient: String
        var longThread: UUID
        var pageThread: UUID
        var messages: Int
        /// Each member's TOTP key in base32, in `members` order: the load scripts sign in with
        /// the second step (SPEC §9) like anyone else.
        var totpKeys: [String]
        /// A remembered browser's device cookie for each of the first three patients (SPEC §5).
        var deviceTokens: [String]
    }

    /// A small deterministic generator (SplitMix64), so the data set is the same for a seed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let words = ["the", "crown", "fits", "well", "please", "rinse", "twice", "daily", "your", "scan", "looks",
                        "good", "next", "visit", "in", "two", "weeks", "any", "pain", "after", "the", "cleaning", "call", "us"]

    static func seed(on db: any Database, services: CaseTalkServices, seed: UInt64, now: Date) async throws -> Manifest {
        guard try await Practice.query(on: db).count() == 0 else {
            throw CommandFailure("The database is not empty: bench fixtures go into a new one.")
        }
        var random = Generator(state: seed)
        let hash = try await services.passwords.hash(password)   // one hash for every account: seeding stays fast
        let practices = [Practice(name: "Bench Dental", createdAt: now), Practice(name: "Bench Surgery", createdAt: now)]
        try await practices.create(on: db)

        let staff = try (0..<members).map { i in
            StaffUser(practiceID: try practices[i % 2].requireID(), email: try EmailAddress(memberEmail(i)), name: "Member \(i)",
                      role: i % 5 == 4 ? .staff : .doctor, isAdmin: i < 2, passwordHash: hash, createdAt: now)
        }
        try await staff.create(on: db)
        var totpKeys: [String] = []
        for member in staff {
            let key = (0..<TOTP.keyLength).map { _ in UInt8.random(in: 0...255, using: &random) }
            _ = try await StaffTwoStep.turnOn(staffID: try member.requireID(), key: key, usedStep: nil, sealer: services.sealer, auditKey: services.auditKey,
                                              now: now, clientAddress: "bench", on: db)
            totpKeys.append(Base32.encode(key))
        }
        let people = (0..<patients).map { i -> Patient in
            let number = "+1212555\(String(format: "%04d", i))"
            return Patient(email: patientEmail(i), name: "Patient \(i)", passwordHash: hash, mobileNumber: number, verifiedNumber: number,
                           termsVersion: services.termsOfUse.version, termsAcceptedAt: now, createdAt: now)
        }
        try await people.create(on: db)

        // Each case has one patient and two members (both with a conversation). The heavy patient
        // gets 200 cases (400 conversations); the other 1,600 conversations go 8 to a patient.
        var cases: [PatientCase] = [], joins: [CasePatient] = [], memberships: [CaseMember] = [], talks: [Conversation] = []
        var owners: [Int] = []   // the patient index of each conversation in `talks`
        var memberCases = Array(repeating: [UUID](), count: members)
        func addCase(for patientIndex: Int) throws {
            let first = Int.random(in: 0..<members, using: &random)
            let second = (first + 1 + Int.random(in: 0..<(members - 1), using: &random)) % members
            let patientCase = PatientCase(practiceID: staff[first].$practice.id, patientFirstName: "Patient", patientLastName: "\(patientIndex)",
                                          patientEmail: patientEmail(patientIndex), title: "Case \(cases.count)",
                                          createdByID: try staff[first].requireID(), createdAt: now.addingTimeInterval(-86_400),
                                          lastActivityAt: now)
            cases.append(patientCase)
            joins.append(CasePatient(caseID: patientCase.id!, patientID: try people[patientIndex].requireID(), joinedAt: now))
            for member in [first, second] {
                memberships.append(CaseMember(caseID: patientCase.id!, staffID: try staff[member].requireID(), addedByID: nil, addedAt: now))
                let talk = Conversation(id: UUID(), caseID: patientCase.id!, memberID: try staff[member].requireID(),
                                        patientID: try people[patientIndex].requireID(), now: now.addingTimeInterval(-86_400))
                talks.append(talk)
                memberCases[member].append(patientCase.id!)
                owners.append(patientIndex)
            }
        }
        for _ in 0..<(heavyConversations / 2) { try addCase(for: 0) }
        for i in 0..<((conversations - heavyConversations) / 2) { try addCase(for: 1 + (i / 4) % (patients - 1)) }
        try await cases.create(on: db)
        for chunk in stride(from: 0, to: joins.count, by: 500) { try await Array(joins[chunk..<min(chunk + 500, joins.count)]).create(on: db) }
        for chunk in stride(from: 0, to: memberships.count, by: 500) {
            try await Array(memberships[chunk..<min(chunk + 500, memberships.count)]).create(on: db)
        }

        // Messages: 25 in each of the heavy patient's 400 conversations, 1,000 and 50 in the first
        // conversations of patients 1 and 2, and 3 in every other conversation.
        var longID: UUID?, pageID: UUID?
        var counts: [Int] = []
        for (talk, owner) in zip(talks, owners) {
            if owner == 0 { counts.append(heavyMessages / heavyConversations) }
            else if owner == 1, longID == nil { longID = talk.id; counts.append(longThread) }
            else if owner == 2, pageID == nil { pageID = talk.id; counts.append(pageThread) }
            else { counts.append(3) }
        }
        for (talk, count) in zip(talks, counts) {
            talk.messageCount = count
            talk.lastMessageAt = talk.createdAt.addingTimeInterval(Double(count - 1) * 60)
            let lastByPatient = (count - 1) % 3 == 2   // the pattern below: every third message is the patient's
            talk.patientUnread = lastByPatient ? 0 : 1
            talk.memberUnread = lastByPatient ? 1 : 0
        }
        for chunk in stride(from: 0, to: talks.count, by: 500) { try await Array(talks[chunk..<min(chunk + 500, talks.count)]).create(on: db) }
        var batch: [Message] = []
        for (talk, count) in zip(talks, counts) {
            for n in 0..<count {
                let text = (0..<12).map { _ in words.randomElement(using: &random)! }.joined(separator: " ")
                let createdAt = talk.createdAt.addingTimeInterval(Double(n) * 60)
                let message = try Message(conversationID: talk.id!, author: n % 3 == 2 ? .patient : .member, body: text,
                                          sealer: services.sealer, createdAt: createdAt, readAt: n < count - 1 ? createdAt : nil)
                batch.append(message)
            }
            if batch.count >= 1_000 { try await batch.create(on: db); batch.removeAll(keepingCapacity: true) }
        }
        if !batch.isEmpty { try await batch.create(on: db) }
        let total = counts.reduce(0, +)
        // After a bulk load the planner needs fresh statistics (PostgreSQL otherwise plans the
        // busy patient's Secure Inbox as if they had 6 cases, not 200, until autovacuum runs).
        try await EngineStatements.refreshStatistics(on: db)

        var deviceTokens: [String] = []
        for patient in people.prefix(3) {
            deviceTokens.append(try await RememberedBrowsers.remember(patientID: try patient.requireID(), now: now, on: db))
        }
        return Manifest(password: password, members: (0..<members).map(memberEmail), patients: (0..<patients).map(patientEmail),
                        memberCases: memberCases, heavyPatient: patientEmail(0), longThread: longID!, pageThread: pageID!,
                        messages: total, totpKeys: totpKeys, deviceTokens: deviceTokens)
    }
}
