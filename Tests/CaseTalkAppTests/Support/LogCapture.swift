@testable import CaseTalkApp
import Logging
import NIOConcurrencyHelpers

/// Every log line the test process writes from the moment it is first used, at every level,
/// through the same `PrivateLogHandler` the server installs, so a test can show that something
/// never reaches the logs. The logging system is set up once per process, so this is shared by
/// all tests; each test looks for its own secrets.
final class LogCapture: Sendable {
    static let shared: LogCapture = {
        let capture = LogCapture()
        LoggingSystem.bootstrap { label in PrivateLogHandler(wrapping: CapturingHandler(label: label, capture: capture)) }
        return capture
    }()

    private let lines = NIOLockedValueBox<[String]>([])

    func append(_ line: String) { lines.withLockedValue { $0.append(line) } }
    var all: [String] { lines.withLockedValue { $0 } }

    /// The SQL statements logged for one request (with the SQL log level at debug): SQLKit logs
    /// "Executing query" for each it runs, the data layer "Executing prepared statement" on PostgreSQL.
    func statements(request id: String) -> Int {
        all.filter { Self.isStatement($0) && $0.contains("request-id=\(id)") }.count
    }

    /// The statements logged so far by the app made with `withCaseTalk(logMark: mark)`.
    func statements(logMark mark: String) -> Int {
        all.filter { Self.isStatement($0) && $0.contains("app-mark=\(mark)") }.count
    }

    private static func isStatement(_ line: String) -> Bool {
        line.contains("Executing query") || line.contains("Executing prepared statement")
    }
}

private struct CapturingHandler: LogHandler {
    let label: String
    let capture: LogCapture
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let error = event.error.map { " error=\(String(describing: $0))" } ?? ""
        capture.append("\(event.level) [\(label)] \(event.message) "
                       + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + error)
    }
}
