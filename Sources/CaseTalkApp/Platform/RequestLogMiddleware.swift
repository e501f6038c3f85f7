import Vapor

/// Logs each request by its route pattern (`GET /register/:token`), never by its actual path:
/// paths can carry invitation tokens and ids, and the query string can carry what people typed.
struct RequestLogMiddleware: AsyncMiddleware {
    let level: Logger.Level

    func respond(to req: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let response = try await next.respond(to: req)
        let pattern = req.route.map { "/" + $0.path.map(\.description).joined(separator: "/") } ?? "(no route)"
        req.logger.log(level: level, "\(req.method) \(pattern) \(response.status.code)")
        return response
    }
}
