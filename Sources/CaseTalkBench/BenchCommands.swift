import CaseTalkApp
import Foundation
import Vapor

// `casetalk-bench seed` and `casetalk-bench hash`: what bench/run needs from inside the app.

struct BenchSeedCommand: AsyncCommand {
    struct Signature: CommandSignature, Sendable {
        @Option(name: "seed", help: "The generator's seed (default 42).") var seed: UInt64?
        @Option(name: "manifest", help: "Where to write the JSON the load scripts read.") var manifest: String?
        init() {}
    }
    let help = "Fills an empty database with the load-test data set and writes its manifest."

    func run(using context: CommandContext, signature: Signature) async throws {
        // SPEC §5: the load-test accounts share one known password.
        guard !context.application.caseTalk.config.isProduction else {
            throw CommandFailure("casetalk-bench seed does not run in production: its accounts share one known password.")
        }
        let app = try await CommandSupport.migrated(context)
        let started = ContinuousClock.now
        let manifest = try await BenchFixtures.seed(on: app.db, services: app.caseTalk, seed: signature.seed ?? 42,
                                                    now: app.caseTalk.clock.now())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let path = signature.manifest ?? "bench-manifest.json"
        try encoder.encode(manifest).write(to: URL(fileURLWithPath: path))
        context.console.info("Seeded \(manifest.messages) messages in \(ContinuousClock.now - started); manifest: \(path)")
    }
}

struct BenchHashCommand: AsyncCommand {
    struct Signature: CommandSignature, Sendable {
        @Option(name: "count", help: "How many hashes to time per core (default 5).") var count: Int?
        init() {}
    }
    let help = "Times the production password hash, on one core alone and with every core hashing, in milliseconds per hash."

    func run(using context: CommandContext, signature: Signature) async throws {
        let passwords = context.application.caseTalk.passwords
        let count = max(1, signature.count ?? 5)
        let cores = System.coreCount
        _ = try await passwords.hash("warm-up-password")
        let alone = try await Self.time { for n in 0..<count { _ = try await passwords.hash("bench-password-\(n)") } }
        // scrypt is memory-hard: hashes side by side share the memory bus, so each takes longer.
        let busy = try await Self.time {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for core in 0..<cores {
                    group.addTask { for n in 0..<count { _ = try await passwords.hash("bench-password-\(core)-\(n)") } }
                }
                try await group.waitForAll()
            }
        }
        let line = "hash_ms=\(String(format: "%.1f", alone / Double(count))) busy_hash_ms=\(String(format: "%.1f", busy / Double(count))) cores=\(cores)"
        context.console.output(line.consoleText())
    }

    private static func time(_ body: () async throws -> Void) async throws -> Double {
        let started = ContinuousClock.now
        try await body()
        let elapsed = ContinuousClock.now - started
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }
}
