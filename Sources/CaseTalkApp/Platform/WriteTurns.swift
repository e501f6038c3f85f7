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
/// driver, so per application. With `writer`, a file gets a connection of its own for writing:
/// SQLite gives each event loop one connection, and a write transaction holding it would make
/// every read on that loop wait (the file's write-ahead log lets reads run beside the writer).
/// An in-memory database keeps one set of connections (a second would see a database of its own).
struct TurnTakingConfiguration: DatabaseConfiguration {
    var inner: any DatabaseConfiguration
    var writer: (any DatabaseConfiguration)?
    var middleware: [any AnyModelMiddleware] {
        get { inner.middleware }
        set { inner.middleware = newValue }
    }

    func makeDriver(for databases: Databases) -> any DatabaseDriver {
        TurnTakingDriver(inner: inner.makeDriver(for: databases), writer: writer?.makeDriver(for: databases),
                         writerLoop: databases.eventLoopGroup.any(), turns: WriteTurns())
    }
}

private struct TurnTakingDriver: DatabaseDriver {
    let inner: any DatabaseDriver
    let writer: (any DatabaseDriver)?
    /// All writes use the writer's connection on this one loop: they take turns anyway.
    let writerLoop: any EventLoop
    let turns: WriteTurns

    func makeDatabase(with context: DatabaseContext) -> any Database {
        let reads = inner.makeDatabase(with: context)
        let writes = writer?.makeDatabase(with: DatabaseContext(configuration: context.configuration, logger: context.logger,
                                                                eventLoop: writerLoop, history: context.history,
                                                                pageSizeLimit: context.pageSizeLimit))
        return TurnTakingDatabase(inner: reads, writer: writes ?? reads, turns: turns)
    }
    func shutdown() {
        inner.shutdown()
        writer?.shutdown()
    }
    func shutdownAsync() async {
        await inner.shutdownAsync()
        await writer?.shutdownAsync()
    }
}

/// Reads go to `inner`; a write outside a transaction, and every transaction, first takes its
/// turn and then runs on `writer`. Inside a transaction the statements go straight to the
/// transaction's connection, which already holds the turn.
private struct TurnTakingDatabase: Database, SQLDatabase {
    let inner: any Database
    let writer: any Database
    let turns: WriteTurns
    private var sql: any SQLDatabase { inner as! any SQLDatabase }
    private var writerSQL: any SQLDatabase { writer as! any SQLDatabase }

    var context: DatabaseContext { inner.context }
    var inTransaction: Bool { inner.inTransaction }

    private func inTurn<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> EventLoopFuture<T> {
        inner.eventLoop.makeFutureWithTask { try await turns.run(body) }
    }

    func execute(query: DatabaseQuery, onOutput: @escaping @Sendable (any DatabaseOutput) -> Void) -> EventLoopFuture<Void> {
        switch query.action {
        case _ where inTransaction, .read, .aggregate: inner.execute(query: query, onOutput: onOutput)
        default: inTurn { try await writer.execute(query: query, onOutput: onOutput).get() }
        }
    }

    func execute(schema: DatabaseSchema) -> EventLoopFuture<Void> {
        if inTransaction { return inner.execute(schema: schema) }
        return inTurn { try await writer.execute(schema: schema).get() }
    }

    func execute(enum: DatabaseEnum) -> EventLoopFuture<Void> { inner.execute(enum: `enum`) }

    func transaction<T>(_ closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        if inTransaction { return inner.transaction(closure) }
        let result = inner.eventLoop.makePromise(of: T.self)
        inner.eventLoop.makeFutureWithTask { await turns.take() }.whenSuccess {
            result.futureResult.whenComplete { _ in turns.handOn() }
            result.completeWith(writer.transaction(closure).hop(to: inner.eventLoop))
        }
        return result.futureResult
    }

    func withConnection<T>(_ closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        // One connection for everything in the closure: its writes too.
        inner.withConnection { connection in closure(TurnTakingDatabase(inner: connection, writer: connection, turns: turns)) }
    }

    // SQLDatabase: reads run at once; anything else is a write.
    var logger: Logger { inner.logger }
    var eventLoop: any EventLoop { inner.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { sql.version }
    var dialect: any SQLDialect { sql.dialect }
    var queryLogLevel: Logger.Level? { sql.queryLogLevel }

    /// A data-layer statement says whether it writes (`Statement.writes`); a built SELECT reads;
    /// anything else (migrations, start-up settings) is taken as a write.
    private func isRead(_ query: any SQLExpression) -> Bool {
        if let statement = query as? StatementExpression { return !statement.writes }
        return query is SQLSelect
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        if inTransaction || isRead(query) { return sql.execute(sql: query, onRow) }
        return inTurn { try await writerSQL.execute(sql: query, onRow) }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        if inTransaction || isRead(query) { return try await sql.execute(sql: query, onRow) }
        try await turns.run { try await writerSQL.execute(sql: query, onRow) }
    }
}
