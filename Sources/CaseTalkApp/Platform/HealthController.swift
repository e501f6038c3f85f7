import Fluent
import Vapor

/// `/healthz`: the process answers. `/readyz`: the database answers and every migration is applied.
struct HealthController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("healthz") { _ in "ok" }
        routes.get("readyz", use: ready)
    }

    func ready(req: Request) async throws -> Response {
        let applied = try? await EngineStatements.appliedMigrations(on: req.db)
        guard let applied, applied >= Migrations.count else {
            return Response(status: .serviceUnavailable, body: "not ready")
        }
        return Response(status: .ok, body: "ready")
    }
}
