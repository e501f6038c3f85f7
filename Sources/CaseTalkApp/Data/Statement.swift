import Fluent
import FluentPostgresDriver
import Foundation
import SQLKit

/// One SQL statement of the data layer: its text, shared by SQLite and PostgreSQL, whether it
/// writes, and the values it binds. Each table's statements live in that table's file under
/// `Data/` (see the README's architecture section); nothing else in the product writes SQL text.
///
/// The text numbers its values `$1`, `$2`, … in the order they first appear: PostgreSQL binds
/// them by number and SQLite (for which `$1` is a named value) by order of first appearance, so
/// the one text means the same on both (`StatementTests` checks every statement).
///
/// PostgreSQL prepares a statement without being told its values' types and infers each from
/// where it first stands, so a value takes a column's place or is compared with one (`x = $1`),
/// never stands alone in arithmetic (`$1 + 1` would be read as a 4-byte integer).
///
/// A statement with a list (`IN (…)`, or several rows of `VALUES`) has a text per list size.
/// Sizes of 1, 2, 4, … `Bucket.largest` are prepared on PostgreSQL; an `IN` list is padded to
/// the next of them with its last value (`Bucket.padded`), rows of `VALUES` are written in chunks
/// of those sizes (`Bucket.chunks`). Any other size still runs, unprepared.
protocol Statement: Sendable {
    /// The text for a list of `size` (statements without a list ignore it).
    static func text(size: Int) -> String
    /// Whether it changes anything: on SQLite, writers take turns (see `WriteTurns`).
    static var writes: Bool { get }
    /// The list's size for this execution (1 for a statement without a list).
    var size: Int { get }
    /// The values for `$1`, `$2`, … in order.
    var binds: [any SQLValue] { get }
}

extension Statement {
    var size: Int { 1 }
    /// The name it is prepared under on PostgreSQL (at most 63 bytes, PostgreSQL's limit):
    /// `ct.SessionsTable.Load.1`, `ct.CodeHoldersTable.Check<SignInCodes>.1`: the table and
    /// statement without the module or a private type's context, a generic's arguments by name.
    static func preparedName(size: Int) -> String {
        var name = String(reflecting: Self.self)
        while let open = name.range(of: "(unknown context at "), let close = name[open.upperBound...].range(of: ").") {
            name.removeSubrange(open.lowerBound..<close.upperBound)
        }
        let outer = name.prefix { $0 != "<" }.split(separator: ".").dropFirst().joined(separator: ".")
        let arguments = name.firstIndex(of: "<").map { start in
            "<" + name[name.index(after: start)...].dropLast().split(separator: ",")
                .map { $0.split(separator: ".").last.map(String.init) ?? "" }.joined(separator: ",") + ">"
        } ?? ""
        return "ct.\(outer)\(arguments).\(size)"
    }
}

/// A value a statement binds: the types the tables use, optional or not.
protocol SQLValue: Encodable, Sendable {
    func append(to bindings: inout PostgresBindings)
}
extension String: SQLValue { func append(to bindings: inout PostgresBindings) { bindings.append(self) } }
extension UUID: SQLValue { func append(to bindings: inout PostgresBindings) { bindings.append(self) } }
extension Date: SQLValue { func append(to bindings: inout PostgresBindings) { bindings.append(self) } }
extension Int: SQLValue { func append(to bindings: inout PostgresBindings) { bindings.append(self) } }
extension Int64: SQLValue { func append(to bindings: inout PostgresBindings) { bindings.append(self) } }
extension Bool: SQLValue { func append(to bindings: inout PostgresBindings) { bindings.append(self) } }
extension Optional: SQLValue where Wrapped: SQLValue {
    func append(to bindings: inout PostgresBindings) {
        if let self { self.append(to: &bindings) } else { bindings.appendNull() }
    }
}

/// What every statement must be, checked on each run in debug builds (so by every test that runs it).
enum StatementCheck {
    /// Why `S`'s text for `size` is not what both engines read the same way, or nil.
    static func problem<S: Statement>(_: S.Type, size: Int, binds: Int) -> String? {
        let name = S.preparedName(size: size)
        guard name.utf8.count <= 63 else { return "\(name): longer than PostgreSQL keeps (63 bytes)" }
        return problem(text: S.text(size: size), binds: binds).map { "\(name): \($0)" }
    }

    /// Why `text` does not number its values `$1`…`$binds` in order of first appearance, or nil.
    static func problem(text: String, binds: Int) -> String? {
        var seen = 0
        let utf8 = Array(text.utf8)
        var index = 0
        while index < utf8.count {
            defer { index += 1 }
            guard utf8[index] == UInt8(ascii: "$") else { continue }
            var end = index + 1, number = 0
            while end < utf8.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(utf8[end]) {
                number = number * 10 + Int(utf8[end] - UInt8(ascii: "0"))
                end += 1
            }
            guard end > index + 1 else { continue }
            if number > seen + 1 { return "$\(number) appears before $\(seen + 1)" }
            seen = max(seen, number)
            index = end - 1
        }
        return seen == binds ? nil : "numbers \(seen) values but binds \(binds)"
    }
}

/// The list sizes prepared on PostgreSQL.
enum Bucket {
    static let largest = 128
    static let sizes = [1, 2, 4, 8, 16, 32, 64, 128]

    /// The smallest prepared size that holds `count` items (or `count` beyond the largest).
    static func size(for count: Int) -> Int { sizes.first { $0 >= count } ?? count }

    /// `values`, its last value repeated up to the next prepared size (for `IN` lists, where a
    /// value twice changes nothing).
    static func padded<T>(_ values: [T]) -> [T] {
        guard let last = values.last else { return values }
        return values + Array(repeating: last, count: size(for: values.count) - values.count)
    }

    /// `values` in chunks whose sizes are prepared sizes, largest first (for rows of `VALUES`).
    static func chunks<T>(_ values: [T]) -> [ArraySlice<T>] {
        var chunks: [ArraySlice<T>] = [], start = values.startIndex
        while start < values.endIndex {
            let left = values.endIndex - start
            let size = left >= largest ? largest : sizes.last { $0 <= left }!
            chunks.append(values[start..<(start + size)])
            start += size
        }
        return chunks
    }

    /// `$first, $first+1, …`: `count` numbered values.
    static func list(from first: Int, count: Int) -> String {
        (first..<(first + count)).map { "$\($0)" }.joined(separator: ", ")
    }

    /// `($first, …), (…), …`: `count` rows of `columns` numbered values.
    static func rows(from first: Int, columns: Int, count: Int) -> String {
        (0..<count).map { "(" + list(from: first + $0 * columns, count: columns) + ")" }.joined(separator: ", ")
    }
}

extension Database {
    /// Runs `statement`; its rows, if any.
    func rows<S: Statement>(_ statement: S) async throws -> [any SQLRow] {
        assert(StatementCheck.problem(S.self, size: statement.size, binds: statement.binds.count) == nil,
               StatementCheck.problem(S.self, size: statement.size, binds: statement.binds.count) ?? "")
        if let postgres = self as? any PostgresDatabase {
            // As SQLKit logs the statements it runs, at the configured level: the name, never the values.
            if let level = sql.queryLogLevel {
                logger.log(level: level, "Executing prepared statement", metadata: ["statement": .string(S.preparedName(size: statement.size))])
            }
            return try await PreparedStatements.rows(statement, on: postgres, logger: logger)
        }
        return try await StatementBuilder(statement, on: sql).all()
    }

    func run<S: Statement>(_ statement: S) async throws {
        _ = try await rows(statement)
    }

    /// The rows decoded into `Row`, whose properties are the columns' names in camelCase. A
    /// column named with a digit (`sent_1`) is given a name without one: `sent1` would look for
    /// a `sent1` column, and an optional property whose column is missing reads as nil.
    func all<S: Statement, Row: Decodable>(_ statement: S, as _: Row.Type) async throws -> [Row] {
        try await rows(statement).map { try $0.decode(model: Row.self, with: Self.rowDecoder) }
    }

    func first<S: Statement, Row: Decodable>(_ statement: S, as _: Row.Type) async throws -> Row? {
        try await rows(statement).first.map { try $0.decode(model: Row.self, with: Self.rowDecoder) }
    }

    private static var rowDecoder: SQLRowDecoder { SQLRowDecoder(keyDecodingStrategy: .convertFromSnakeCase) }
}

/// On PostgreSQL each statement is prepared once per pooled connection, under its name, and then
/// only bound and run: the text is not parsed or planned again (postgres-nio keeps what each
/// connection has prepared).
private enum PreparedStatements {
    static func rows<S: Statement>(_ statement: S, on db: any PostgresDatabase, logger: Logger) async throws -> [any SQLRow] {
        let size = statement.size
        guard let bucket = sizeTypes.first(where: { $0.count == size }) else {
            // A list longer than the largest prepared size: the same text, unprepared.
            var bindings = PostgresBindings()
            for value in statement.binds { value.append(to: &bindings) }
            let query = PostgresQuery(unsafeSQL: S.text(size: size), binds: bindings)
            return try await db.withConnection { connection in
                connection.eventLoop.makeFutureWithTask {
                    try await connection.query(query, logger: logger).collect().map { $0.sql() as any SQLRow }
                }
            }.get()
        }
        return try await run(statement, size: bucket, on: db, logger: logger)
    }

    private static let sizeTypes: [any BucketSize.Type] = [Size1.self, Size2.self, Size4.self, Size8.self, Size16.self,
                                                           Size32.self, Size64.self, Size128.self]

    private static func run<S: Statement, Z: BucketSize>(_ statement: S, size _: Z.Type, on db: any PostgresDatabase,
                                                          logger: Logger) async throws -> [any SQLRow] {
        var bindings = PostgresBindings()
        for value in statement.binds { value.append(to: &bindings) }
        let prepared = Prepared<S, Z>(bindings: bindings)
        return try await db.withConnection { connection in
            connection.eventLoop.makeFutureWithTask {
                var rows: [any SQLRow] = []
                for try await row in try await connection.execute(prepared, logger: logger) { rows.append(row.sql()) }
                return rows
            }
        }.get()
    }
}

private protocol BucketSize { static var count: Int { get } }
private enum Size1: BucketSize { static let count = 1 }
private enum Size2: BucketSize { static let count = 2 }
private enum Size4: BucketSize { static let count = 4 }
private enum Size8: BucketSize { static let count = 8 }
private enum Size16: BucketSize { static let count = 16 }
private enum Size32: BucketSize { static let count = 32 }
private enum Size64: BucketSize { static let count = 64 }
private enum Size128: BucketSize { static let count = 128 }

private struct Prepared<S: Statement, Z: BucketSize>: PostgresPreparedStatement {
    static var name: String { S.preparedName(size: Z.count) }
    static var sql: String { S.text(size: Z.count) }
    typealias Row = PostgresRow
    let bindings: PostgresBindings
    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

/// A statement as SQLKit runs it on SQLite: its text as written, its values in order, and
/// whether it writes, which `TurnTakingDatabase` reads instead of guessing from the text.
struct StatementExpression: SQLExpression {
    let text: String
    let binds: [any SQLValue]
    let writes: Bool

    func serialize(to serializer: inout SQLSerializer) {
        serializer.write(text)
        serializer.binds.append(contentsOf: binds as [any Encodable & Sendable])
    }
}

private final class StatementBuilder: SQLQueryFetcher, @unchecked Sendable {
    var query: any SQLExpression
    var database: any SQLDatabase

    init<S: Statement>(_ statement: S, on database: any SQLDatabase) {
        query = StatementExpression(text: S.text(size: statement.size), binds: statement.binds, writes: S.writes)
        self.database = database
    }
}
