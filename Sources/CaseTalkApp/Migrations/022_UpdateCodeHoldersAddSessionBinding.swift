import Fluent
import SQLKit

/// The steps after a code belong to the browser session that verified it (SPEC §3, §4), and
/// every code limit is one conditional statement (issue 15):
/// - registrations and password resets record the session that verified their code
///   (`verified_session`, the session row's id, itself a hash of the cookie);
/// - a registration records the session that typed its phone numbers (only it may change them
///   before verification) and the one that answered the date of birth, with the wrong answers;
/// - the per-number send limit becomes one row per number holding its last five send times, so
///   a send is claimed by one conditional upsert; the send log it replaces is dropped (its rows
///   only mattered for 10 minutes).
struct UpdateCodeHoldersAddSessionBinding: AsyncMigration {
    var name: String { "022_UpdateCodeHoldersAddSessionBinding" }

    static let registrationColumns: [(FieldKey, DatabaseSchema.DataType)] = [
        ("verified_session", .string), ("phones_session", .string),
        ("birth_date_session", .string), ("birth_date_misses", .int),
    ]

    func prepare(on db: any Database) async throws {
        // SQLite alters one column per statement.
        for (column, type) in Self.registrationColumns {
            try await db.schema("registrations").field(column, type).update()
        }
        try await db.schema("password_resets").field("verified_session", .string).update()
        try await db.schema("phone_code_windows")
            .field("number", .string, .identifier(auto: false))
            .field("sent_1", .datetime)
            .field("sent_2", .datetime)
            .field("sent_3", .datetime)
            .field("sent_4", .datetime)
            .field("sent_5", .datetime)
            // The time pushed out by the newest claim, put back if that send fails.
            .field("dropped", .datetime)
            .create()
        try await db.schema("phone_code_sends").delete()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("phone_code_sends")
            .id()
            .field("number", .string, .required)
            .field("sent_at", .datetime, .required)
            .create()
        try await db.sql.create(index: "phone_code_sends_number_idx").on("phone_code_sends").column("number").column("sent_at").run()
        try await db.schema("phone_code_windows").delete()
        try await db.schema("password_resets").deleteField("verified_session").update()
        for (column, _) in Self.registrationColumns.reversed() {
            try await db.schema("registrations").deleteField(column).update()
        }
    }
}
