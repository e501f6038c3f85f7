import Fluent
import SQLKit

/// The Secure Inbox lists a patient's conversations newest first, a page at a time. Reached
/// through the patient's cases, that meant reading and sorting all of them for every page (400
/// for a busy patient); a copy of the case's patient on each conversation, with an index in the
/// page's order, reads just the page. `case_patients` stays the authority: the inbox query joins
/// it too, and the copy is written where a case gains its patient and where a conversation is made.
struct UpdateConversationAddPatient: AsyncMigration {
    var name: String { "021_UpdateConversationAddPatient" }

    func prepare(on db: any Database) async throws {
        try await db.schema("conversations").field("patient_id", .uuid).update()
        try await db.sql.raw("""
            UPDATE conversations SET patient_id = (SELECT patient_id FROM case_patients WHERE case_patients.case_id = conversations.case_id)
            """).run()
        try await db.sql.raw("CREATE INDEX conversations_inbox_idx ON conversations (patient_id, last_message_at DESC, id)").run()
    }

    func revert(on db: any Database) async throws {
        try await db.sql.drop(index: "conversations_inbox_idx").run()
        try await db.schema("conversations").deleteField("patient_id").update()
    }
}
