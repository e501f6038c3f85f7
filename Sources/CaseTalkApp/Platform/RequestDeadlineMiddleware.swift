import NIOConcurrencyHelpers
import NIOCore
import Vapor

/// A request not answered within the deadline is answered 503 ("try again") instead of being
/// left waiting. PostgreSQL restarted under load can leave a query that never hears back (seen in
/// the fault tests: a send in flight at the crash waited until its client gave up), and a person
/// must learn that the request failed rather than watch it hang. The abandoned work ends on its
/// own or with the process; its transaction, if any, was never committed.
struct RequestDeadlineMiddleware: AsyncMiddleware {
    let deadline: TimeAmount

    static let timedOut = PublicError(
        status: .serviceUnavailable, message: "CaseTalk took too long to answer. Please try again in a moment.", retryAfter: 5)

    func respond(to req: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let pending = NIOLockedValueBox<CheckedContinuation<Response, any Error>?>(nil)
        @Sendable func finish(_ result: Result<Response, any Error>) {
            pending.withLockedValue { continuation in
                continuation?.resume(with: result)
                continuation = nil
            }
        }
        return try await withCheckedThrowingContinuation { continuation in
            pending.withLockedValue { $0 = continuation }
            let timer = req.eventLoop.scheduleTask(in: deadline) { finish(.failure(Self.timedOut)) }
            Task {
                let result: Result<Response, any Error>
                do { result = .success(try await next.respond(to: req)) } catch { result = .failure(error) }
                timer.cancel()
                finish(result)
            }
        }
    }
}
