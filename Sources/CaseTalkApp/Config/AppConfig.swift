import CaseTalkCore
import Foundation
import Vapor

/// Every setting of SPEC §7, read once at boot. Nothing else reads the process environment.
public struct AppConfig: Sendable {
    public enum DatabaseTarget: Sendable, Equatable {
        case sqliteFile(path: String)
        case sqliteMemory
        case postgres(url: String, searchPath: [String]? = nil)
    }

    public struct Twilio: Sendable, Equatable {
        public var accountSID: String
        public var authToken: String
        public var fromNumber: String
    }

    public var isProduction: Bool
    public var database: DatabaseTarget
    public var publicBaseURL: URL
    /// From `SMTP_URL`; nil means the development mailbox.
    public var smtp: SMTPSettings?
    public var mailFrom: String
    public var twilio: Twilio?
    public var twilioAPIBaseURL: String
    /// 32 bytes; seals message bodies (SPEC §5).
    public var dataKey: [UInt8]
    /// `CASETALK_PREVIOUS_DATA_KEYS`: earlier data keys, still opened after a rotation until
    /// `casetalk keys rotate` has re-sealed everything under the current one.
    public var previousDataKeys: [[UInt8]] = []
    /// 32 bytes; keys the audit chain (SPEC §5). Kept apart from the database, and from the data key.
    public var auditKey: [UInt8]
    public var passwordParameters: ScryptHasher.Parameters
    /// Whether an empty development database is filled with demo data by `serve`.
    public var seedsDemoData: Bool
    /// The level at which each request is logged (method and path only).
    public var requestLogLevel: Logger.Level = .info
    /// The level at which the database driver logs each SQL statement ("Executing query"; the
    /// log handler drops the statement's text and values below info). Nil: not logged, except on
    /// PostgreSQL, whose driver needs a level and gets trace, which is never written. Tests use it
    /// to count the statements a page runs.
    public var sqlLogLevel: Logger.Level? = nil
    /// How often an account or a client address may sign in, send or check a code, invite, ask
    /// for a password reset and send a message. `CASETALK_RATE_LIMITS=off` lifts them, for load tests.
    public var rateLimits: RateLimitPolicy = .standard
    /// PostgreSQL connections per event loop (one loop per core). More than one, so a connection
    /// left waiting by a database that went away does not hold up every request on its loop.
    public var databasePoolSize: Int = 8
    /// Seconds a statement may wait for a pooled PostgreSQL connection, the opening of a new one
    /// included, before it fails. Tests allow more: their suites open hundreds of connections at
    /// once on a two-core machine, where one once waited past ten seconds.
    public var databasePoolWaitSeconds: Int64 = 10
    /// `CASETALK_IDLE_TIMEOUT`: seconds a connection may go without a byte either way before the
    /// server closes it (review M7: idle and half-sent connections were kept for ever).
    public var idleTimeoutSeconds: Int = 30
    /// `TRUSTED_PROXIES` (SPEC §5): only from these is `X-Forwarded-For` believed.
    public var trustedProxies = TrustedProxies(ranges: [])
    /// Where attachments' sealed bytes are kept (`ATTACHMENT_STORE`, SPEC §8).
    public var attachmentStore: AttachmentStoreSetting = .folder(path: "var/attachments")
    /// Staff's per-file limit in MB (`ATTACHMENT_MAX_STAFF_MB`, 1–500).
    public var attachmentMaxStaffMB = 100
    /// `CLAMD_ADDRESS` (SPEC §8): the ClamAV daemon every file is scanned by before it is shown.
    public var clamd: ClamdAddress? = nil
    /// The image tool, `vipsthumbnail` (Debian's libvips-tools), when it is on the PATH at
    /// start-up (issue 19 item 5); nil: images are cleaned in Swift only. Tests set it themselves.
    public var imageTool: String? = nil

    /// Development only, and only while email or texts have nowhere real to go (SPEC §6).
    public var usesDevelopmentMailbox: Bool { !isProduction && (smtp == nil || twilio == nil) }

    /// The development environment (SPEC §5): the only one that serves `/dev/mailbox`.
    public var isDevelopment = false

    /// `/dev/mailbox` is served in development only, while it holds something: what the
    /// development mailbox caught, or the demo accounts' two-step codes (SPEC §9).
    public var servesDevelopmentMailbox: Bool { isDevelopment && (usesDevelopmentMailbox || seedsDemoData) }

    /// Session cookies are `Secure` whenever the public address is https.
    public var usesSecureCookies: Bool { publicBaseURL.scheme == "https" }

    public struct MissingSetting: Error, CustomStringConvertible {
        public let problems: [String]
        public var description: String {
            "CaseTalk cannot start in production:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
        }
    }

    /// Reads the settings. In production every setting that protects patients must be present and
    /// valid; the error names each one that is not.
    /// A setting or an environment CaseTalk refuses to start with, and why.
    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
    }

    public static func load(environment: Environment, variables: [String: String], workingDirectory: String) throws -> AppConfig {
        // SPEC §5: any other environment would fail open (generated keys, the development mailbox).
        if let refusal = EnvironmentRule.refusal(ofName: environment.name) { throw Refusal(description: refusal) }
        let isProduction = environment == .production
        var problems: [String] = []
        func value(_ name: String) -> String? {
            guard let v = variables[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        func required(_ name: String, _ why: String) -> String? {
            let v = value(name)
            if v == nil, isProduction { problems.append("\(name) is required (\(why)).") }
            return v
        }

        let database: DatabaseTarget
        if let url = value("DATABASE_URL") {
            guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
                throw MissingSetting(problems: ["DATABASE_URL must be a postgres:// URL."])
            }
            database = .postgres(url: url)
        } else {
            database = .sqliteFile(path: workingDirectory + "var/casetalk.sqlite")
        }

        let base = required("PUBLIC_BASE_URL", "the address used in email links") ?? "http://127.0.0.1:8080"
        guard let baseURL = URL(string: base.hasSuffix("/") ? String(base.dropLast()) : base),
              let scheme = baseURL.scheme, ["http", "https"].contains(scheme), baseURL.host != nil else {
            throw MissingSetting(problems: ["PUBLIC_BASE_URL must be an http:// or https:// address."])
        }
        if isProduction, scheme != "https" {
            problems.append("PUBLIC_BASE_URL must be https in production (session cookies are Secure only then).")
        }

        var smtp: SMTPSettings?
        if let url = required("SMTP_URL", "without it email would go to the development mailbox") {
            do {
                let settings = try SMTPSettings(url: url)
                smtp = isProduction ? try settings.forProduction() : settings
            } catch { throw MissingSetting(problems: ["SMTP_URL: \(error.message)"]) }
        }
        let sid = required("TWILIO_ACCOUNT_SID", "SMS and voice codes")
        let token = required("TWILIO_AUTH_TOKEN", "SMS and voice codes")
        let from = required("TWILIO_FROM_NUMBER", "SMS and voice codes")
        let twilio = (sid != nil && token != nil && from != nil) ? Twilio(accountSID: sid!, authToken: token!, fromNumber: from!) : nil

        func key(_ name: String, _ why: String, developmentFile: String) throws -> [UInt8] {
            if let encoded = required(name, why) {
                guard let key = Data(base64Encoded: encoded), key.count == 32 else {
                    throw MissingSetting(problems: ["\(name) must be the base64 of exactly 32 bytes."])
                }
                return Array(key)
            }
            return isProduction ? [] : try DevelopmentKey.loadOrCreate(at: workingDirectory + "var/" + developmentFile)
        }
        let dataKey = try key("CASETALK_DATA_KEY", "it encrypts message bodies", developmentFile: "data.key")
        let auditKey = try key("CASETALK_AUDIT_KEY", "it keys the audit chain", developmentFile: "audit.key")
        if !dataKey.isEmpty, dataKey == auditKey {
            problems.append("CASETALK_AUDIT_KEY must not be the data key (whoever holds one must not hold both).")
        }

        var previousDataKeys: [[UInt8]] = []
        if let list = value("CASETALK_PREVIOUS_DATA_KEYS") {
            for encoded in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !encoded.isEmpty {
                guard let key = Data(base64Encoded: encoded), key.count == 32 else {
                    throw MissingSetting(problems: ["CASETALK_PREVIOUS_DATA_KEYS must be base64 keys of exactly 32 bytes, comma-separated."])
                }
                previousDataKeys.append(Array(key))
            }
        }

        let rateLimits: RateLimitPolicy
        switch value("CASETALK_RATE_LIMITS") ?? "standard" {
        case "standard": rateLimits = .standard
        case "off": rateLimits = .off
        default: throw MissingSetting(problems: ["CASETALK_RATE_LIMITS must be standard or off."])
        }

        var poolSize = 8
        if let text = value("DATABASE_POOL_SIZE") {
            guard let size = Int(text), (1...100).contains(size) else {
                throw MissingSetting(problems: ["DATABASE_POOL_SIZE must be a whole number from 1 to 100."])
            }
            poolSize = size
        }

        var idleTimeout = 30
        if let text = value("CASETALK_IDLE_TIMEOUT") {
            guard let seconds = Int(text), (5...3600).contains(seconds) else {
                throw MissingSetting(problems: ["CASETALK_IDLE_TIMEOUT must be a whole number of seconds from 5 to 3600."])
            }
            idleTimeout = seconds
        }

        let twilioBase = value("TWILIO_API_BASE_URL") ?? "https://api.twilio.com"
        if isProduction {
            if case .postgres(let url, _) = database, let refusal = ProductionTransport.databaseRefusal(url) { problems.append(refusal) }
            if let refusal = ProductionTransport.twilioRefusal(twilioBase) { problems.append(refusal) }
        }

        var trustedProxies = TrustedProxies(ranges: [])
        if let text = value("TRUSTED_PROXIES") {
            switch TrustedProxies.parse(text) {
            case .success(let parsed): trustedProxies = parsed
            case .failure(let error):
                throw MissingSetting(problems: ["TRUSTED_PROXIES: \"\(error.entry)\" is neither an address nor a CIDR range (like 10.0.0.0/8)."])
            }
        }

        var attachmentStore = AttachmentStoreSetting.folder(path: workingDirectory + "var/attachments")
        if let text = value("ATTACHMENT_STORE") {
            switch AttachmentStoreSetting.parse(text, workingDirectory: workingDirectory, accessKeyID: value("S3_ACCESS_KEY_ID"),
                                                secretAccessKey: value("S3_SECRET_ACCESS_KEY"), isProduction: isProduction) {
            case .success(let setting): attachmentStore = setting
            case .failure(let problem): problems.append(problem.message)
            }
        }
        var maxStaffMB = 100
        if let text = value("ATTACHMENT_MAX_STAFF_MB") {
            guard let megabytes = Int(text), (1...500).contains(megabytes) else {
                throw MissingSetting(problems: ["ATTACHMENT_MAX_STAFF_MB must be a whole number of megabytes from 1 to 500."])
            }
            maxStaffMB = megabytes
        }

        var clamd: ClamdAddress?
        if let text = value("CLAMD_ADDRESS") {
            clamd = ClamdAddress.parse(text)
            if clamd == nil { problems.append("CLAMD_ADDRESS must be host:port, like 127.0.0.1:3310.") }
        }

        guard problems.isEmpty else { throw MissingSetting(problems: problems) }
        var config = AppConfig(
            isProduction: isProduction, database: database, publicBaseURL: baseURL, smtp: smtp,
            mailFrom: value("MAIL_FROM") ?? "CaseTalk <no-reply@localhost>", twilio: twilio,
            twilioAPIBaseURL: twilioBase, dataKey: dataKey, auditKey: auditKey,
            passwordParameters: .standard, seedsDemoData: environment == .development)
        config.rateLimits = rateLimits
        config.databasePoolSize = poolSize
        config.trustedProxies = trustedProxies
        config.idleTimeoutSeconds = idleTimeout
        config.previousDataKeys = previousDataKeys
        config.isDevelopment = environment == .development
        config.attachmentStore = attachmentStore
        config.attachmentMaxStaffMB = maxStaffMB
        config.clamd = clamd
        config.imageTool = ImageTool.find(inPath: value("PATH"))
        return config
    }

    /// The configuration of a test application: in-memory SQLite (or the PostgreSQL given),
    /// cheap password hashing, no demo data.
    public static func testing(database: DatabaseTarget = .sqliteMemory) -> AppConfig {
        var config = AppConfig(isProduction: false, database: database, publicBaseURL: URL(string: "http://127.0.0.1:8080")!,
                  smtp: nil, mailFrom: "CaseTalk <no-reply@localhost>", twilio: nil,
                  twilioAPIBaseURL: "https://api.twilio.com", dataKey: SecureRandom.bytes(32),
                  auditKey: SecureRandom.bytes(32), passwordParameters: .testing, seedsDemoData: false, requestLogLevel: .debug,
                  attachmentStore: .folder(path: FileManager.default.temporaryDirectory.path + "/casetalk-test-files-"
                                                + Digest.hex(SecureRandom.bytes(8))))
        config.databasePoolWaitSeconds = 60
        return config
    }
}

/// `ATTACHMENT_STORE` (SPEC §8): `file:PATH` (relative to the working directory unless it
/// begins with `/`), or `s3://BUCKET?endpoint=URL&region=R` for an S3-compatible service, with
/// `S3_ACCESS_KEY_ID` and `S3_SECRET_ACCESS_KEY`.
public enum AttachmentStoreSetting: Sendable, Equatable {
    case folder(path: String)
    case s3(S3)

    public struct S3: Sendable, Equatable {
        public let bucket: String
        /// Scheme, host and port only; requests name the bucket in the path.
        public let endpoint: URL
        public let region: String
        public let accessKeyID: String
        public let secretAccessKey: String
    }

    public struct Problem: Error, Equatable { public let message: String }

    static func parse(_ text: String, workingDirectory: String, accessKeyID: String? = nil,
                      secretAccessKey: String? = nil, isProduction: Bool = false) -> Result<AttachmentStoreSetting, Problem> {
        if text.hasPrefix("file:") {
            let path = String(text.dropFirst("file:".count))
            guard !path.isEmpty else { return .failure(Problem(message: "ATTACHMENT_STORE: file: needs a folder, like file:var/attachments.")) }
            return .success(.folder(path: path.hasPrefix("/") ? path : workingDirectory + path))
        }
        if text.hasPrefix("s3://") {
            return parseS3(text, accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, isProduction: isProduction)
        }
        return .failure(Problem(message: "ATTACHMENT_STORE must be file:PATH (like file:var/attachments) or s3://BUCKET?endpoint=URL&region=R."))
    }

    private static func parseS3(_ text: String, accessKeyID: String?, secretAccessKey: String?,
                                isProduction: Bool) -> Result<AttachmentStoreSetting, Problem> {
        func problem(_ message: String) -> Result<AttachmentStoreSetting, Problem> { .failure(Problem(message: "ATTACHMENT_STORE: " + message)) }
        guard let parts = URLComponents(string: text), let bucket = parts.host, parts.path.isEmpty || parts.path == "/",
              parts.user == nil, parts.port == nil else {
            return problem("write s3://BUCKET?endpoint=URL&region=R.")
        }
        // S3's bucket names: 3 to 63 lower-case letters, digits, dots and hyphens, a letter or digit at each end.
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        guard (3...63).contains(bucket.count), bucket.allSatisfy(allowed.contains),
              let first = bucket.first, let last = bucket.last, first != "." && first != "-", last != "." && last != "-" else {
            return problem("\"\(bucket)\" is not a bucket name (3 to 63 lower-case letters, digits, dots and hyphens).")
        }
        var region = "us-east-1", endpointText: String?
        for item in parts.queryItems ?? [] {
            switch item.name {
            case "region": region = item.value ?? ""
            case "endpoint": endpointText = item.value
            default: return problem("s3:// takes endpoint= and region= only, not \(item.name)=.")
            }
        }
        guard !region.isEmpty, region.allSatisfy(Set("abcdefghijklmnopqrstuvwxyz0123456789-").contains) else {
            return problem("region= must be a region name like eu-central-1.")
        }
        let endpointString = endpointText ?? "https://s3.\(region).amazonaws.com"
        guard let endpoint = URLComponents(string: endpointString), let host = endpoint.host, !host.isEmpty,
              endpoint.scheme == "https" || endpoint.scheme == "http", endpoint.path.isEmpty || endpoint.path == "/",
              endpoint.query == nil, endpoint.user == nil, let url = URL(string: endpointString) else {
            return problem("endpoint= must be an address like https://s3.example.net or http://127.0.0.1:9000, with no path.")
        }
        if isProduction, endpoint.scheme != "https", !EnvironmentRule.isLoopback(host) {
            return problem("the endpoint must be https in production.")
        }
        guard let accessKeyID, !accessKeyID.isEmpty, let secretAccessKey, !secretAccessKey.isEmpty else {
            return .failure(Problem(message: "ATTACHMENT_STORE=s3://… needs S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY."))
        }
        return .success(.s3(S3(bucket: bucket, endpoint: url, region: region, accessKeyID: accessKeyID, secretAccessKey: secretAccessKey)))
    }
}

/// The development data and audit keys live in `var/` so that restarts can still read old
/// messages and verify the trail.
enum DevelopmentKey {
    static func loadOrCreate(at path: String) throws -> [UInt8] {
        let fm = FileManager.default
        if let data = fm.contents(atPath: path), let key = Data(base64Encoded: data.trimmingNewline()), key.count == 32 {
            OwnerOnly.apply(folder: (path as NSString).deletingLastPathComponent, files: [path])
            return Array(key)
        }
        try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let key = SecureRandom.bytes(32)
        guard fm.createFile(atPath: path, contents: Data(Data(key).base64EncodedString().utf8),
                            attributes: [.posixPermissions: 0o600]) else {
            throw AppConfig.MissingSetting(problems: ["Could not write the development key \(path)."])
        }
        return key
    }
}

private extension Data {
    func trimmingNewline() -> Data { Data(String(decoding: self, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).utf8) }
}
