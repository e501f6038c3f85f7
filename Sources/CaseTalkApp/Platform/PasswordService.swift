import CaseTalkCore
import NIOConcurrencyHelpers
import NIOPosix
import Vapor

/// Hashes and checks passwords off the event loops, on a pool with as many threads as there are
/// cores: that pool is also the cap on concurrent hashes (scrypt takes 16 MiB and tens of ms each).
/// The queue in front of it is bounded too (review M7): over `queueLimit` hashes waiting or
/// running, a request is answered 503 with Retry-After before anything is done.
public final class PasswordService: Sendable {
    private let hasher: ScryptHasher
    private let pool: NIOThreadPool
    /// A hash of a random password, checked when the email is unknown so the time taken is the same.
    private let decoy: String
    let queueLimit: Int
    private let inFlight = NIOLockedValueBox(0)

    static let busy = PublicError(status: .serviceUnavailable, message: "CaseTalk is very busy. Please try again in a few seconds.",
                                  retryAfter: 5)

    /// `queueLimit` defaults to 16 hashes per thread: about a second of waiting with the standard parameters.
    init(parameters: ScryptHasher.Parameters, threads: Int = System.coreCount, queueLimit: Int? = nil) throws {
        self.hasher = ScryptHasher(parameters: parameters)
        self.pool = NIOThreadPool(numberOfThreads: max(1, threads))
        self.pool.start()
        self.decoy = try hasher.hash(SecureRandom.token())
        self.queueLimit = queueLimit ?? 16 * max(1, threads)
    }

    public func hash(_ password: String) async throws -> String {
        try await queued { [hasher] in try hasher.hash(password) }
    }

    /// Checks `password` against `encoded`, or against the decoy when there is no account, so
    /// both cases cost one hash.
    public func verify(_ password: String, against encoded: String?) async throws -> Bool {
        let target = encoded ?? decoy
        let matches = try await queued { [hasher] in hasher.verify(password, against: target) }
        return matches && encoded != nil
    }

    /// Takes a place in the queue by one check-and-add, runs `work` on the pool, and gives the place back.
    private func queued<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let admitted = inFlight.withLockedValue { count -> Bool in
            guard count < queueLimit else { return false }
            count += 1
            return true
        }
        guard admitted else { throw Self.busy }
        defer { inFlight.withLockedValue { $0 -= 1 } }
        return try await pool.runIfActive(work)
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
