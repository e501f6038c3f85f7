import Vapor

/// Logs each request by its route pattern (`GET /register/:token`), never by its actual path:
/// paths can carry invitation tokens and ids, and the query string can carry what people typed.
///
/// The simple middlewares chain futures rather than `async`: every `AsyncMiddleware` starts a task
/// of its own for each request, which showed in the cost of a send.
struct RequestLogMiddleware: Middleware {
    let level: Logger.Level

    func respond(to req: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        next.respond(to: req).map { [level] response in
            // The message is only made when the level is logged.
            req.logger.log(level: level, "\(req.method) \(Self.pattern(of: req)) \(response.status.code)")
            return response
        }
    }

    /// The route as registered (`/inbox/:conversationID`), never the values in the path.
    private static func pattern(of req: Request) -> String {
        guard let route = req.route else { return "(no route)" }
        return "/" + route.path.map(\.description).joined(separator: "/")
    }
}
