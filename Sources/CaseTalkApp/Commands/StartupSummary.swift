import CaseTalkCore
import Foundation

/// What `casetalk serve` says once it listens: where, on which database, where email and codes
/// go, and in development the mailbox on the port it really listens on. Migration detail is at
/// debug level (`LOG_LEVEL=debug`).
enum StartupSummary {
    /// `listening` is the address the server is bound to (`http://127.0.0.1:8099`), nil for a socket.
    static func lines(_ config: AppConfig, listening: URL?) -> [String] {
        var lines: [String] = []
        let database = switch config.database {
        case .sqliteFile(let path): "SQLite \(path)"
        case .sqliteMemory: "SQLite in memory"
        case .postgres: "PostgreSQL"
        }
        lines.append("CaseTalk is serving \(listening?.absoluteString ?? "on its socket") (\(database)).")
        let email = config.smtp.map { "SMTP \($0.host):\($0.port)" } ?? "the development mailbox"
        let codes = config.twilio == nil ? "the development mailbox" : "Twilio"
        lines.append("Email goes to \(email); codes by text and call go to \(codes).")
        lines.append(config.imageTool.map { "Images: metadata removed, then rewritten upright with thumbnails and views by \($0)." }
            ?? "Images: metadata removed; no image tool (vipsthumbnail is not on the PATH), so no thumbnails or HEIC and TIFF views.")
        if config.servesDevelopmentMailbox {
            lines.append("Development mailbox: \(Paths.devMailbox.url(base: listening ?? config.publicBaseURL))")
        }
        if let listening, listening.port != config.publicBaseURL.port || listening.host != config.publicBaseURL.host {
            lines.append("Links in emails use PUBLIC_BASE_URL (\(config.publicBaseURL.absoluteString)); set it to this address to follow them.")
        }
        return lines
    }
}
