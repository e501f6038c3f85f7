import Fluent
import Foundation

/// The `patient_file_allowances` table: the files a patient sent since their window began.
enum PatientFileAllowancesTable {
    /// Counts `files` more for the patient if that stays within `limit` in the window (which
    /// starts again with these files once `window` has passed since it began), in one statement;
    /// whether they were counted.
    static func take(_ files: Int, patientID: UUID, limit: Int, window: TimeInterval, now: Date, on db: any Database) async throws -> Bool {
        struct Row: Decodable { let files: Int }
        return try await db.first(Take(patientID: patientID, now: now, files: files, expiredBefore: now.addingTimeInterval(-window),
                                       limit: limit), as: Row.self) != nil
    }

    private struct Take: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            INSERT INTO patient_file_allowances (patient_id, window_start, files) VALUES ($1, $2, $3)
            ON CONFLICT (patient_id) DO UPDATE SET
            files = CASE WHEN patient_file_allowances.window_start <= $4 THEN excluded.files
                         ELSE patient_file_allowances.files + excluded.files END,
            window_start = CASE WHEN patient_file_allowances.window_start <= $4 THEN excluded.window_start
                                ELSE patient_file_allowances.window_start END
            WHERE patient_file_allowances.window_start <= $4 OR patient_file_allowances.files + excluded.files <= $5
            RETURNING files
            """
        }
        let patientID: UUID, now: Date, files: Int, expiredBefore: Date, limit: Int
        var binds: [any SQLValue] { [patientID, now, files, expiredBefore, limit] }
    }
}
