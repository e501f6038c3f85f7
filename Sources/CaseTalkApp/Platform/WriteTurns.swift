import Fluent
import NIOConcurrencyHelpers
import NIOCore
import SQLKit

/// SQLite lets one connection write at a time, and SQLiteNIO makes a connection that finds the
/// write lock taken retry at once, without sleeping: with two connections in one server, a send
/// waiting for another send's transaction burned a whole core until it could go (measured in
/// bench/: most of a send's CPU time). So this server takes its turn to write in memory first:
/// writers queue in arrival order and wait without a thread, and only the one holding the turn
/// touches the write lock. Reads never wait here (WAL lets them run beside the writer).
final class WriteTurns: Sendable {
    private struct State {
        var held = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    private let state = NIOLockedValueBox(State())

    func run<T>(_ body: () async throws -> T) async throws -> T {
        await take()
        defer { handOn() }
        return try await body()
    }

    func take() async {
        await withCheckedContinuation { (turn: CheckedContinuation<Void, Never>) in
            let now = state.withLockedValue { state -> Bool in
                if state.held { state.waiting.append(turn); return false }
                state.held = true
                return true
            }
            if now { turn.resume() }
        }
    }

    /// Passes the turn to the longest waiter, or frees it.
    func handOn() {
        let next = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty { state.held = false; return nil }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}

/// The SQLite configuration with writes taken in turn (see `WriteTurns`); one set of turns per
/// driver, so per application.
struct TurnTakingConfiguration: DatabaseConfiguration {
    var inner: any DatabaseConfiguration
    var middleware: [any AnyModelMiddleware] {
        get { inner.middleware }
        set { inner.middleware = newValue }
    }

    func makeDriver(for databases: Databases) -> any DatabaseDriver {
        TurnTakingDriver(inner: inner.makeDriver(for: databases), turns: WriteTurns())
    }
}

private struct TurnTakingDriver: DatabaseDriver {
    let inner: any DatabaseDriver
    let turns: WriteTurns

    func makeDatabase(with context: DatabaseContext) -> any Database {
        TurnTakingDatabase(inner: inner.makeDatabase(with: context), turns: turns)
    }
    func shutdown() { inner.shutdown() }
    func shutdownAsync() async { await inner.shutdownAsync() }
}

/// Forwards to the SQLite database; a write outside a transaction, and every transaction, first
/// takes its turn. Inside a transaction the statements go straight to the transaction's
/// connection, which already holds the turn.
private struct TurnTakingDatabase: Database, SQLDatabase {
    let inner: any Database
    let turns: WriteTurns
    private var sql: any SQLDatabase { inner as! any SQLDatabase }

    var context: DatabaseContext { inner.context }
    var inTransaction: Bool { inner.inTransaction }

    private func inTurn<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> EventLoopFuture<T> {
        inner.eventLoop.makeFutureWithTask { try await turns.run(body) }
    }

    func execute(query: DatabaseQuery, onOutput: @escaping @Sendable (any DatabaseOutput) -> Void) -> EventLoopFuture<Void> {
        switch query.action {
        case _ where inTransaction, .read, .aggregate: inner.execute(query: query, onOutput: onOutput)
        default: inTurn { try await inner.execute(query: query, onOutput: onOutput).get() }
        }
    }

    func execute(schema: DatabaseSchema) -> EventLoopFuture<Void> {
        if inTransaction { return inner.execute(schema: schema) }
        return inTurn { try await inner.execute(schema: schema).get() }
    }

    func execute(enum: DatabaseEnum) -> EventLoopFuture<Void> { inner.execute(enum: `enum`) }

    func transaction<T>(_ closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        if inTransaction { return inner.transaction(closure) }
        let result = inner.eventLoop.makePromise(of: T.self)
        inner.eventLoop.makeFutureWithTask { await turns.take() }.whenSuccess {
            result.futureResult.whenComplete { _ in turns.handOn() }
            result.completeWith(inner.transaction(closure))
        }
        return result.futureResult
    }

    func withConnection<T>(_ closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        inner.withConnection { connection in closure(TurnTakingDatabase(inner: connection, turns: turns)) }
    }

    // SQLDatabase: SELECTs run at once; anything else is a write.
    var logger: Logger { inner.logger }
    var eventLoop: any EventLoop { inner.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { sql.version }
    var dialect: any SQLDialect { sql.dialect }
    var queryLogLevel: Logger.Level? { sql.queryLogLevel }

    private func isRead(_ query: any SQLExpression) -> Bool { query is SQLSelect }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        if inTransaction || isRead(query) { return sql.execute(sql: query, onRow) }
        return inTurn { try await sql.execute(sql: query, onRow) }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        if inTransaction || isRead(query) { return try await sql.execute(sql: query, onRow) }
        try await turns.run { try await sql.execute(sql: query, onRow) }
    }
}
