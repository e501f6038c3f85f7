import Fluent

/// The later registration steps (SPEC §3): the phone numbers, and the Terms of Use acceptance
/// with its evidence; and the email to fill in on the sign-in page after registering.
struct UpdateRegistrationAddSteps: AsyncMigration {
    var name: String { "013_UpdateRegistrationAddSteps" }

    static let registrationColumns: [(FieldKey, DatabaseSchema.DataType)] = [
        ("mobile_number", .string), ("home_number", .string), ("work_number", .string),
        ("phones_saved_at", .datetime),
        ("terms_version", .string), ("terms_accepted_at", .datetime),
        ("terms_client_address", .string), ("terms_user_agent", .string),
    ]

    func prepare(on db: any Database) async throws {
        // SQLite alters one column per statement.
        for (column, type) in Self.registrationColumns {
            try await db.schema("registrations").field(column, type).update()
        }
        try await db.schema("sessions").field("sign_in_email", .string).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("sessions").deleteField("sign_in_email").update()
        for (column, _) in Self.registrationColumns.reversed() {
            try await db.schema("registrations").deleteField(column).update()
        }
    }
}
