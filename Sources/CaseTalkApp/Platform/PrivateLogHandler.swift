import Logging

/// Wraps the process's log handler so that libraries cannot put patient data in the logs
/// (SPEC §5): FluentKit logs every query at debug with its values as metadata, and SQL is logged
/// with its bound values at trace. Below info only metadata known to carry no data is kept, and
/// trace is not written at all. CaseTalk's own logs at info and above carry route patterns,
/// ids and counts only.
public struct PrivateLogHandler: LogHandler {
    /// Metadata keys that never hold what people typed or stored.
    public static let safeMetadata: Set<String> = ["request-id", "database-id", "action", "schema", "migration", "status", "error"]

    private var inner: any LogHandler

    public init(wrapping inner: any LogHandler) { self.inner = inner }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        guard event.level > .trace else { return }
        var event = event
        if event.level < .info {
            event.metadata = event.metadata?.filter { Self.safeMetadata.contains($0.key) }
            event.error = nil
        }
        inner.log(event: event)
    }
}
