import CaseTalkCore
import NIOPosix
import Vapor

/// Hashes and checks passwords off the event loops, on a pool with as many threads as there are
/// cores: that pool is also the cap on concurrent hashes (scrypt takes 16 MiB and tens of ms each).
public final class PasswordService: Sendable {
    private let hasher: ScryptHasher
    private let pool: NIOThreadPool
    /// A hash of a random password, checked when the email is unknown so the time taken is the same.
    private let decoy: String

    init(parameters: ScryptHasher.Parameters, threads: Int = System.coreCount) throws {
        self.hasher = ScryptHasher(parameters: parameters)
        self.pool = NIOThreadPool(numberOfThreads: max(1, threads))
        self.pool.start()
        self.decoy = try hasher.hash(SecureRandom.token())
    }

    public func hash(_ password: String) async throws -> String {
        try await pool.runIfActive { [hasher] in try hasher.hash(password) }
    }

    /// Checks `password` against `encoded`, or against the decoy when there is no account, so
    /// both cases cost one hash.
    public func verify(_ password: String, against encoded: String?) async throws -> Bool {
        let target = encoded ?? decoy
        let matches = try await pool.runIfActive { [hasher] in hasher.verify(password, against: target) }
        return matches && encoded != nil
    }

    public func needsRehash(_ encoded: String) -> Bool { hasher.needsRehash(encoded) }

    func shutdown() async throws { try await pool.shutdownGracefully() }
}

/// Stops the hashing pool with the application.
struct PasswordServiceLifecycle: LifecycleHandler {
    func shutdownAsync(_ application: Application) async {
        try? await application.caseTalk.passwords.shutdown()
    }
}
