import Fluent
import CaseTalkCore
import SQLKit

/// **Practice settings** (SPEC §9): each practice's IANA time zone, in which its dates are shown;
/// practices made before it are on the default, America/New_York.
struct UpdatePracticeAddTimeZone: AsyncMigration {
    var name: String { "036_UpdatePracticeAddTimeZone" }

    func prepare(on db: any Database) async throws {
        try await db.schema("practices")
            .field("time_zone", .string, .required, .sql(.default(SQLLiteral.string(ShownZone.defaultIdentifier))))
            .update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("practices").deleteField("time_zone").update()
    }
}
