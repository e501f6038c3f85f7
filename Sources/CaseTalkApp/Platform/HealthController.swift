import Fluent
import SQLKit
import Vapor

/// `/healthz`: the process answers. `/readyz`: the database answers and every migration is applied.
struct HealthController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("healthz") { _ in "ok" }
        routes.get("readyz", use: ready)
    }

    func ready(req: Request) async throws -> Response {
        struct Row: Decodable { let n: Int }
        let applied = try? await req.db.sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n")
            .from("_fluent_migrations").first(decoding: Row.self)?.n
        guard let applied, applied >= Migrations.count else {
            return Response(status: .serviceUnavailable, body: "not ready")
        }
        return Response(status: .ok, body: "ready")
    }
}
