import Fluent
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
import NIOPosix
import SQLKit
import Vapor

enum DatabaseSetup {
    static func configure(_ app: Application, _ target: AppConfig.DatabaseTarget, sqlLogLevel: Logger.Level?, poolSize: Int,
                          poolWaitSeconds: Int64) throws {
        if case .postgres = target {} else {
            // SQLite runs each statement on the application's blocking thread pool, and waits for
            // a lock by retrying without sleeping. On NIO's shared pool (one thread per core) two
            // waiting connections can take every thread, so the connection holding the lock never
            // gets one to finish: a deadlock. A pool of the application's own, larger than its
            // connection count, always leaves a thread for the lock holder.
            let pool = NIOThreadPool(numberOfThreads: max(4, 2 * System.coreCount))
            pool.start()
            app.threadPool = pool
        }
        // Each migration's start and finish is detail for debugging, not for every start-up.
        app.fluent.migrationLogLevel = .debug
        switch target {
        case .sqliteMemory:
            app.databases.use(takingTurns(.sqlite(.memory, sqlLogLevel: sqlLogLevel), writer: nil), as: .sqlite)
        case .sqliteFile(let path):
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            OwnerOnly.apply(folder: (path as NSString).deletingLastPathComponent, files: [path, path + "-wal", path + "-shm"])
            app.databases.use(takingTurns(.sqlite(.file(path), sqlLogLevel: sqlLogLevel),
                                          writer: .sqlite(.file(path), sqlLogLevel: sqlLogLevel)), as: .sqlite)
        case .postgres(let url, let searchPath):
            var config = try SQLPostgresConfiguration(url: url)
            config.searchPath = searchPath
            // Logged statements carry their bound values (patient data): by default SQLite logs
            // none, and PostgreSQL (which needs a level) only at trace, which is never written.
            app.databases.use(.postgres(configuration: config, maxConnectionsPerEventLoop: poolSize,
                                        connectionPoolTimeout: .seconds(poolWaitSeconds), sqlLogLevel: sqlLogLevel ?? .trace), as: .psql)
        }
    }

    /// SQLite with its writers queued in memory, and for a file a connection of their own (see
    /// `WriteTurns` and `TurnTakingConfiguration`).
    private static func takingTurns(_ sqlite: DatabaseConfigurationFactory, writer: DatabaseConfigurationFactory?) -> DatabaseConfigurationFactory {
        DatabaseConfigurationFactory { TurnTakingConfiguration(inner: sqlite.make(), writer: writer?.make()) }
    }

    /// SQLite files use write-ahead logging, so readers do not wait for a writer (the setting is
    /// kept in the file).
    static func prepare(_ app: Application, _ target: AppConfig.DatabaseTarget) async throws {
        if case .sqliteFile = target { try await EngineStatements.useWriteAheadLog(on: app.db) }
    }
}

extension Database {
    /// The SQLKit view of this database, for queries Fluent cannot express or does slowly.
    var sql: any SQLDatabase {
        guard let sql = self as? any SQLDatabase else { preconditionFailure("CaseTalk runs on SQL databases only") }
        return sql
    }
}

/// Review L5: the data folder and what is in it are the server account's alone. New files are
/// made owner-only by the process's umask (set at start-up); files from before are tightened here.
enum OwnerOnly {
    static func apply(folder: String, files: [String]) {
        let fm = FileManager.default
        try? fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: folder)
        for file in files where fm.fileExists(atPath: file) {
            try? fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        }
    }
}
