import CaseTalkCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import Vapor

/// The process around the app, shared by `casetalk` and the benchmark's `casetalk-bench`
/// (which adds its own commands): environment rules, logging, settings, then the command.
public enum CaseTalkMain {
    public static func run(extraCommands: [String: any AnyAsyncCommand] = [:]) async throws {
        // Async code runs on the event loops themselves, so a request does not hop between NIO's
        // threads and a second pool at every await (measured in bench/). Nothing here blocks a
        // thread: password hashing and SQLite have pools of their own.
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        // Review L5: every file the server makes (the SQLite database, its WAL, keys) is the
        // server account's alone.
        umask(0o077)
        // SPEC §5: without --env, development, and only on a loopback address.
        if let refusal = EnvironmentRule.refusal(ofArguments: Array(CommandLine.arguments.dropFirst())) {
            FileHandle.standardError.write(Data("\(refusal)\n".utf8))
            exit(1)
        }
        var env = try Environment.detect()
        // LOG_LEVEL / --log as usual; every handler is wrapped so that no library logs patient data.
        try LoggingSystem.bootstrap(from: &env) { level in
            let console = Terminal()
            return { label in PrivateLogHandler(wrapping: ConsoleLogger(label: label, console: console, level: level)) }
        }

        let config: AppConfig
        do {
            config = try AppConfig.load(environment: env, variables: ProcessInfo.processInfo.environment,
                                        workingDirectory: DirectoryConfiguration.detect().workingDirectory)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            exit(1)
        }

        let app = try await Application.make(env)
        do {
            try await configure(app, config: config)
            for (name, command) in extraCommands { await app.asyncCommands.use(command, as: name) }
            try await app.execute()
        } catch {
            if let failure = error as? CommandFailure {
                FileHandle.standardError.write(Data("\(failure.description)\n".utf8))
            } else if let missing = error as? AppConfig.MissingSetting {
                FileHandle.standardError.write(Data("\(missing.description)\n".utf8))
            } else {
                app.logger.report(error: error)
            }
            try? await app.asyncShutdown()
            exit(1)
        }
        try await app.asyncShutdown()
    }
}
