import Fluent
import SQLKit

/// The image tool's thumbnail and view of an image (SPEC §8): where each is stored, and their
/// type (PNG for a TIFF, otherwise the image's own). Empty for files the tool did not prepare.
struct UpdateAttachmentAddViews: AsyncMigration {
    var name: String { "031_UpdateAttachmentAddViews" }

    func prepare(on db: any Database) async throws {
        // One column a statement: SQLite adds no more at once.
        for column in ["thumbnail_key", "view_key", "view_type"] {
            try await db.schema("attachments").field(.string(column), .string).update()
        }
        // The hourly sweep looks stored names up in these as in `store_key`.
        try await db.sql.create(index: "attachments_thumbnail_key_idx").on("attachments").column("thumbnail_key").run()
        try await db.sql.create(index: "attachments_view_key_idx").on("attachments").column("view_key").run()
    }

    func revert(on db: any Database) async throws {
        try await db.sql.drop(index: "attachments_thumbnail_key_idx").run()
        try await db.sql.drop(index: "attachments_view_key_idx").run()
        for column in ["thumbnail_key", "view_key", "view_type"] {
            try await db.schema("attachments").deleteField(.string(column)).update()
        }
    }
}
