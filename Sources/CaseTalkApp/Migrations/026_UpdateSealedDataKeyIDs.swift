import CaseTalkCore
import Fluent

/// Values sealed before keys had ids (`k1`, messages bound to their id alone) re-sealed under
/// the current key, messages bound to their conversation and author side too (review L7).
struct UpdateSealedDataKeyIDs: AsyncMigration {
    var name: String { "026_UpdateSealedDataKeyIDs" }
    let sealer: Sealer

    func prepare(on db: any Database) async throws {
        try await db.transaction { tx in try await SealedData.resealAll(with: sealer, on: tx, attachments: false) }
    }

    /// Nothing to undo: values under the current key open as before.
    func revert(on db: any Database) async throws {}
}
