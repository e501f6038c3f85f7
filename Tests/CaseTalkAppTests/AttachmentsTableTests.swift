@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import SQLKit
import Testing

/// Who sees an attachment, decided in its query: exactly the two people who see its message.
@Suite struct AttachmentsTableTests {
    /// A stored description of a small PDF, as the pipeline gives it.
    func storedPDF(_ id: UUID) throws -> AttachmentPipeline.Stored {
        var pipeline = AttachmentPipeline(limits: .patient, key: SegmentedSeal.newKey(), fileID: id.uuidString)
        _ = try pipeline.feed(Array("%PDF-1.7\nplan\n".utf8))
        return try pipeline.finish().stored
    }

    @Test func aFileIsSeenByTheMemberAndThePatientOfItsConversationOnly() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let world = t.registration.invitations.world
            try await t.write("Here is the plan.", as: t.ben)
            try await t.write("Cy's own note.", as: t.cy)
            let bens = try #require(try await t.conversation(of: world.ben)).requireID()
            let cys = try #require(try await t.conversation(of: world.cy)).requireID()
            let message = try #require(try await Message.query(on: app.db).filter(\.$conversationID == bens).first()).requireID()
            let cysMessage = try #require(try await Message.query(on: app.db).filter(\.$conversationID == cys).first()).requireID()
            let pat = try #require(try await Patient.query(on: app.db).filter(\.$email == "pat@example.com").first()).requireID()
            let quinn = try #require(try await Patient.query(on: app.db).filter(\.$email == "quinn@example.com").first()).requireID()

            func insert(status: AttachmentsTable.Status = .ready) async throws -> UUID {
                let id = UUID()
                try await AttachmentsTable.insert([.init(id: id, conversationID: bens, messageID: nil, author: .member, storeKey: StoreKey(), keySealed: "key",
                                                        nameSealed: "name", stored: try storedPDF(id), status: status, at: clock.now)], on: app.db)
                return id
            }
            let file = try await insert()
            #expect(try await AttachmentsTable.forMember(file, memberID: world.ben, on: app.db) == nil, "not shown before its message is sent")
            #expect(try await AttachmentsTable.forPatient(file, patientID: pat, on: app.db) == nil)

            // Joined only to a message of its own conversation, by its own side, once.
            #expect(try await AttachmentsTable.attach([file], to: message, conversationID: bens, author: .patient, on: app.db) == 0)
            #expect(try await AttachmentsTable.attach([file], to: cysMessage, conversationID: cys, author: .member, on: app.db) == 0)
            #expect(try await AttachmentsTable.attach([file], to: message, conversationID: bens, author: .member, on: app.db) == 1)
            #expect(try await AttachmentsTable.attach([file], to: message, conversationID: bens, author: .member, on: app.db) == 0)

            let seen = try await AttachmentsTable.forMember(file, memberID: world.ben, on: app.db)
            #expect(seen?.id == file && seen?.conversationId == bens && seen?.fileType == "pdf")
            #expect(try await AttachmentsTable.forPatient(file, patientID: pat, on: app.db)?.id == file)
            // A colleague on the same case, a member of another practice, another patient, nobody's id.
            #expect(try await AttachmentsTable.forMember(file, memberID: world.cy, on: app.db) == nil)
            #expect(try await AttachmentsTable.forMember(file, memberID: world.dee, on: app.db) == nil)
            #expect(try await AttachmentsTable.forPatient(file, patientID: quinn, on: app.db) == nil)
            #expect(try await AttachmentsTable.forPatient(file, patientID: world.ben, on: app.db) == nil)
            #expect(try await AttachmentsTable.forMember(UUID(), memberID: world.ben, on: app.db) == nil)

            // Waiting for the scanner: not shown to anyone.
            let checking = try await insert(status: .checking)
            _ = try await AttachmentsTable.attach([checking], to: message, conversationID: bens, author: .member, on: app.db)
            #expect(try await AttachmentsTable.forMember(checking, memberID: world.ben, on: app.db) == nil)
            #expect(try await AttachmentsTable.forPatient(checking, patientID: pat, on: app.db) == nil)

            // A member who leaves the case loses its files at once; the patient keeps them.
            try await (app.db as! any SQLDatabase).raw("DELETE FROM case_members WHERE staff_id = \(bind: world.ben)").run()
            #expect(try await AttachmentsTable.forMember(file, memberID: world.ben, on: app.db) == nil)
            #expect(try await AttachmentsTable.forPatient(file, patientID: pat, on: app.db)?.id == file)
        }
    }
}
