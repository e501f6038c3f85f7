import Fluent
import Foundation

/// The `phone_code_windows` table: per phone number, its last five code send times, newest
/// first (SPEC §3's five sends per number per ten minutes; see `PhoneSendWindows`).
enum PhoneCodeWindowsTable {
    struct Sends: Decodable, Sendable {
        let sentFirst: Date?, sentSecond: Date?, sentThird: Date?, sentFourth: Date?, sentFifth: Date?
        var all: [Date] { [sentFirst, sentSecond, sentThird, sentFourth, sentFifth].compactMap { $0 } }
    }

    /// Records a send at `now`, shifting the times along, only when the fifth newest was at or
    /// before `windowStart`: true when recorded.
    static func claim(_ number: String, now: Date, windowStart: Date, on db: any Database) async throws -> Bool {
        try await !db.rows(Claim(number: number, now: now, windowStart: windowStart)).isEmpty
    }

    /// Undoes the send recorded at `claimedAt`: the times shift back.
    static func giveBack(_ number: String, claimedAt: Date, on db: any Database) async throws {
        try await db.run(GiveBack(number: number, claimedAt: claimedAt))
    }

    static func sends(_ number: String, on db: any Database) async throws -> Sends? {
        try await db.first(Read(number: number), as: Sends.self)
    }

    private struct Claim: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            INSERT INTO phone_code_windows (number, sent_1) VALUES ($1, $2)
            ON CONFLICT (number) DO UPDATE SET
              sent_1 = excluded.sent_1, sent_2 = phone_code_windows.sent_1, sent_3 = phone_code_windows.sent_2,
              sent_4 = phone_code_windows.sent_3, sent_5 = phone_code_windows.sent_4, dropped = phone_code_windows.sent_5
            WHERE phone_code_windows.sent_5 IS NULL OR phone_code_windows.sent_5 <= $3
            RETURNING number
            """
        }
        let number: String, now: Date, windowStart: Date
        var binds: [any SQLValue] { [number, now, windowStart] }
    }

    private struct GiveBack: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE phone_code_windows SET sent_1 = sent_2, sent_2 = sent_3, sent_3 = sent_4, sent_4 = sent_5, sent_5 = dropped,
              dropped = NULL
            WHERE number = $1 AND sent_1 = $2
            """
        }
        let number: String, claimedAt: Date
        var binds: [any SQLValue] { [number, claimedAt] }
    }

    private struct Read: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            // Named without digits: camelCase keys map back to snake_case columns word by word.
            """
            SELECT sent_1 AS sent_first, sent_2 AS sent_second, sent_3 AS sent_third, sent_4 AS sent_fourth, sent_5 AS sent_fifth
            FROM phone_code_windows WHERE number = $1
            """
        }
        let number: String
        var binds: [any SQLValue] { [number] }
    }
}
