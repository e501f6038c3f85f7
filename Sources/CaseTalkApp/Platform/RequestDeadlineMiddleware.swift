import CaseTalkCore
import NIOConcurrencyHelpers
import NIOCore
import Vapor

/// A request not answered within the deadline is answered 503 ("try again") instead of being
/// left waiting. PostgreSQL restarted under load can leave a query that never hears back (seen in
/// the fault tests: a send in flight at the crash waited until its client gave up), and a person
/// must learn that the request failed rather than watch it hang. The abandoned work ends on its
/// own or with the process; its transaction, if any, was never committed.
struct RequestDeadlineMiddleware: Middleware {
    let deadline: TimeAmount

    static let timedOut = PublicError(
        status: .serviceUnavailable, message: "CaseTalk took too long to answer. Please try again in a moment.", retryAfter: 5)

    func respond(to req: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        // A form with files is answered once its last byte arrived, which on a phone can take
        // minutes; a connection that stops sending is closed by the idle timeout instead.
        if req.url.path.hasPrefix(Paths.uploadPrefix) { return next.respond(to: req) }
        let answer = req.eventLoop.makePromise(of: Response.self)
        let answered = NIOLockedValueBox(false)
        @Sendable func finish(_ result: Result<Response, any Error>) {
            guard answered.withLockedValue({ done in defer { done = true }; return !done }) else { return }
            answer.completeWith(result)
        }
        let timer = req.eventLoop.scheduleTask(in: deadline) { finish(.failure(Self.timedOut)) }
        next.respond(to: req).whenComplete { result in
            timer.cancel()
            finish(result)
        }
        return answer.futureResult
    }
}
