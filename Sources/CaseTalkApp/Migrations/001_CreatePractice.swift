import Fluent

struct CreatePractice: AsyncMigration {
    var name: String { "001_CreatePractice" }

    func prepare(on db: any Database) async throws {
        try await db.schema("practices")
            .id()
            .field("name", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("practices").delete()
    }
}
