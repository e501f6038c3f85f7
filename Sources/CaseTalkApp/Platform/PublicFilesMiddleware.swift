import Vapor

/// Serves `Public/` (styles, scripts, the common-password list) and nothing else: only short
/// paths under its folders reach the file system. Any other path goes straight to the routes,
/// so a hostile path (thousands of characters, say) is a plain 404 rather than a file-system
/// error.
struct PublicFilesMiddleware: Middleware {
    static let folders = ["/css/", "/js/", "/data/"]
    static let maxPathLength = 200
    let files: FileMiddleware

    init(publicDirectory: String) { files = FileMiddleware(publicDirectory: publicDirectory) }

    func respond(to req: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        let path = req.url.path
        guard path.utf8.count <= Self.maxPathLength, Self.folders.contains(where: { path.hasPrefix($0) }) else {
            return next.respond(to: req)
        }
        return files.respond(to: req, chainingTo: next)
    }
}
