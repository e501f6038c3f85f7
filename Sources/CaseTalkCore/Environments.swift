import Foundation

/// Which environments CaseTalk runs in (SPEC §5): `production`, `development` and `testing`
/// only, and development only where nobody else can reach it.
public enum EnvironmentRule {
    public static let names = ["production", "development", "testing"]

    /// Why `name` is refused, or nil.
    public static func refusal(ofName name: String) -> String? {
        names.contains(name) ? nil
            : "Unknown environment \"\(String(name.prefix(40)))\": CaseTalk runs as production, development or testing (--env)."
    }

    /// Without `--env` the server runs in development, and only on a loopback address; a
    /// `serve` that asks for any other address is refused with the reason. `arguments` are the
    /// process's, without the program name.
    public static func refusal(ofArguments arguments: [String]) -> String? {
        let namesEnvironment = arguments.contains { $0 == "--env" || $0 == "-e" || $0.hasPrefix("--env=") }
        guard !namesEnvironment, arguments.first == "serve" || arguments.first == nil else { return nil }
        var hosts: [String] = []
        for (index, argument) in arguments.enumerated() {
            let value = index + 1 < arguments.count ? arguments[index + 1] : ""
            switch argument {
            case "--hostname", "-H": hosts.append(value)
            case "--bind", "-b": hosts.append(host(ofBind: value))
            default:
                if argument.hasPrefix("--hostname=") { hosts.append(String(argument.dropFirst("--hostname=".count))) }
                if argument.hasPrefix("--bind=") { hosts.append(host(ofBind: String(argument.dropFirst("--bind=".count)))) }
            }
        }
        guard let open = hosts.first(where: { !isLoopback($0) }) else { return nil }
        return "Without --env, CaseTalk runs in development, which listens only on a loopback address (127.0.0.1 or ::1). "
            + "To listen on \(String(open.prefix(60))), start it with --env production and its settings."
    }

    /// An address literal in 127.0.0.0/8 or ::1, or `localhost`; never a name that merely starts with 127.
    public static func isLoopback(_ host: String) -> Bool {
        let host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if host == "localhost" { return true }
        guard let address = IPAddress(host) else { return false }
        return IPRange("127.0.0.0/8")!.contains(address) || IPRange("::1")!.contains(address)
    }

    static func host(ofBind bind: String) -> String {
        if bind.hasPrefix("["), let end = bind.firstIndex(of: "]") { return String(bind[bind.index(after: bind.startIndex)..<end]) }
        return bind.split(separator: ":", maxSplits: 1).first.map(String.init) ?? bind
    }
}

/// What production asks of its connections to other machines (review L8): PostgreSQL only over
/// TLS that cannot be downgraded, and the SMS/voice API only over https. A loopback address is
/// the same machine, so it may go without.
public enum ProductionTransport {
    public static func databaseRefusal(_ url: String) -> String? {
        guard let parts = URLComponents(string: url), let host = parts.host, !EnvironmentRule.isLoopback(host) else { return nil }
        let names = ["tlsmode", "sslmode", "ssl", "tls"]
        let mode = parts.queryItems?.last(where: { names.contains($0.name.lowercased()) })?.value?.lowercased()
        if let mode, ["require", "verify-ca", "verify-full"].contains(mode) { return nil }
        return "DATABASE_URL: a database on another machine needs ?sslmode=verify-full (or require) in production: "
            + "without it the connection may fall back to no encryption."
    }

    public static func twilioRefusal(_ base: String) -> String? {
        guard let parts = URLComponents(string: base), let host = parts.host else {
            return "TWILIO_API_BASE_URL must be an https:// address."
        }
        if parts.scheme == "https" || (parts.scheme == "http" && EnvironmentRule.isLoopback(host)) { return nil }
        return "TWILIO_API_BASE_URL must be https in production (it carries the account's credentials and the codes)."
    }
}
