import CaseTalkCore
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// What went wrong talking to the mail server. `isPermanent` (a 5xx reply) means trying again
/// will not help; everything else (no connection, timeouts, 4xx) is worth another try later.
enum SMTPError: Error, CustomStringConvertible {
    case rejected(step: String, code: Int)
    case tlsRequiredButNotOffered
    case tlsFailed
    case dataBeforeTLS
    case credentialsNeedTLS
    case authNotSupported
    case timeout(step: String)
    case connectionClosed
    case malformedReply

    /// True for an answer the server gave, as opposed to a failure to talk at all.
    var isReply: Bool {
        if case .rejected = self { return true }
        return false
    }

    var isPermanent: Bool {
        if case .rejected(_, let code) = self { return code >= 500 }
        if case .tlsRequiredButNotOffered = self { return false }
        return false
    }

    /// Safe to log and to show staff: no addresses, no message content.
    var description: String {
        switch self {
        case .rejected(let step, let code): "the mail server answered \(code) to \(step)"
        case .tlsRequiredButNotOffered: "the mail server does not offer STARTTLS, and SMTP_URL requires it"
        case .tlsFailed: "the TLS handshake with the mail server failed (is its certificate trusted?)"
        case .dataBeforeTLS: "the mail server sent more after agreeing to STARTTLS, before the TLS handshake: "
            + "treated as an attack on the connection (nothing was sent)"
        case .credentialsNeedTLS: "credentials are only sent over TLS (or to a server on this machine)"
        case .authNotSupported: "the mail server offers neither AUTH PLAIN nor AUTH LOGIN"
        case .timeout(let step): "the mail server did not answer \(step) in time"
        case .connectionClosed: "the mail server closed the connection"
        case .malformedReply: "the mail server sent something that is not SMTP"
        }
    }
}

/// One SMTP conversation (RFC 5321): connect, EHLO, STARTTLS or implicit TLS, AUTH, then any
/// number of messages over the same connection, then QUIT.
final class SMTPSession: Sendable {
    private let channel: any Channel
    private let handler: NIOLoopBoundBox<SMTPReplyHandler?>
    private let timeout: TimeAmount

    private init(channel: any Channel, handler: NIOLoopBoundBox<SMTPReplyHandler?>, timeout: TimeAmount) {
        self.channel = channel
        self.handler = handler
        self.timeout = timeout
    }

    /// Opens a ready-to-send session: greeted, secured as the settings ask, signed in.
    static func open(_ settings: SMTPSettings, helloName: String, group: any EventLoopGroup,
                     timeout: TimeAmount = .seconds(30)) async throws -> SMTPSession {
        let loop = group.next()
        let box = NIOLoopBoundBox<SMTPReplyHandler?>.makeEmptyBox(valueType: SMTPReplyHandler.self, eventLoop: loop)
        // Made only when TLS may be used: it reads the system's trust roots from disk.
        let tls = settings.security == .plain ? nil : try makeTLSContext(settings)
        let serverName = isIPAddress(settings.host) ? nil : settings.host
        let channel = try await ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if settings.security == .implicitTLS, let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    let handler = SMTPReplyHandler()
                    box.value = handler
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: settings.host, port: settings.port).get()
        let session = SMTPSession(channel: channel, handler: box, timeout: timeout)
        do {
            // With implicit TLS the handshake happens before the greeting can be read.
            let greeting = try await tlsStep(settings.security == .implicitTLS) { try await session.reply(step: "the greeting") }
            try session.expect(greeting, 220, step: "the greeting")
            var features = try await session.command("EHLO \(helloName)", expect: 250)
            var secured = settings.security == .implicitTLS
            if !secured, let tls, features.extensions.contains("STARTTLS") {
                _ = try await session.command("STARTTLS", expect: 220)
                // Review M6: nothing said before the handshake is believed after it; EHLO again.
                try await session.startTLS(tls, serverName: serverName)
                features = try await tlsStep(true) {
                    try await session.command("EHLO \(helloName)", expect: 250)
                }
                secured = true
            } else if !secured, settings.security == .startTLSRequired {
                throw SMTPError.tlsRequiredButNotOffered
            }
            if let user = settings.username {
                guard secured || EnvironmentRule.isLoopback(settings.host) else { throw SMTPError.credentialsNeedTLS }
                try await session.authenticate(user: user, password: settings.password ?? "", features: features)
            }
            return session
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// Runs a step that includes a TLS handshake; a failure that is not an SMTP reply is reported
    /// as a failed handshake (an untrusted certificate, a wrong host name, no common protocol).
    private static func tlsStep<T>(_ isTLS: Bool, _ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as SMTPError where !isTLS || error.isReply {
            throw error
        } catch where isTLS {
            throw SMTPError.tlsFailed
        }
    }

    /// Sends one message. The message is already rendered (CRLF line ends).
    /// A refused message leaves the connection usable for the next one (RSET ends the transaction).
    func send(from: String, to: String, rendered: String) async throws {
        do {
            _ = try await command("MAIL FROM:<\(EmailMessage.address(of: from))>", expect: 250)
            _ = try await command("RCPT TO:<\(EmailMessage.address(of: to))>", expect: 250, 251)
            _ = try await command("DATA", expect: 354)
            var body = SMTPText.dotStuffed(rendered)
            if !body.hasSuffix("\r\n") { body += "\r\n" }
            try await write(body + ".\r\n")
            try expect(try await reply(step: "the message"), 250, step: "the message")
        } catch let error as SMTPError where error.isReply {
            _ = try? await command("RSET", expect: 250)
            throw error
        }
    }

    func close() async {
        _ = try? await command("QUIT", expect: 221)
        try? await channel.close()
    }

    // MARK: Protocol steps

    private func authenticate(user: String, password: String, features: SMTPReply) async throws {
        let auth = features.extensions.first { $0.hasPrefix("AUTH") }?.split(separator: " ").map(String.init) ?? []
        if auth.contains("PLAIN") {
            let token = Data(("\u{0}" + user + "\u{0}" + password).utf8).base64EncodedString()
            _ = try await command("AUTH PLAIN \(token)", expect: 235, step: "AUTH PLAIN")
        } else if auth.contains("LOGIN") {
            _ = try await command("AUTH LOGIN", expect: 334)
            _ = try await command(Data(user.utf8).base64EncodedString(), expect: 334, step: "AUTH LOGIN user")
            _ = try await command(Data(password.utf8).base64EncodedString(), expect: 235, step: "AUTH LOGIN password")
        } else {
            throw SMTPError.authNotSupported
        }
    }

    @discardableResult
    private func command(_ line: String, expect codes: Int..., step: String? = nil) async throws -> SMTPReply {
        // The step named in errors is the verb only: never an address or a credential.
        let name = step ?? String(line.prefix { $0 != " " && $0 != ":" })
        try await write(line + "\r\n")
        let reply = try await reply(step: name)
        guard codes.contains(reply.code) else { throw SMTPError.rejected(step: name, code: reply.code) }
        return reply
    }

    private func expect(_ reply: SMTPReply, _ code: Int, step: String) throws {
        guard reply.code == code else { throw SMTPError.rejected(step: step, code: reply.code) }
    }

    private func write(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    private func reply(step: String) async throws -> SMTPReply {
        let handler = self.handler
        let timeout = self.timeout
        return try await channel.eventLoop.flatSubmit {
            guard let current = handler.value else {
                return handler.eventLoop.makeFailedFuture(SMTPError.connectionClosed)
            }
            return current.nextReply(on: handler.eventLoop, timeout: timeout, step: step)
        }.get()
    }

    /// Puts TLS under the conversation. On the event loop, in one step: if anything arrived after
    /// the 220 (a reply or part of one, injected in plain text), the connection is given up;
    /// otherwise every later byte goes through the TLS handler.
    private func startTLS(_ context: NIOSSLContext, serverName: String?) async throws {
        let channel = self.channel
        let handler = self.handler
        try await channel.eventLoop.submit {
            guard let current = handler.value, !current.holdsUnreadBytes else { throw SMTPError.dataBeforeTLS }
            try channel.pipeline.syncOperations.addHandler(
                NIOSSLClientHandler(context: context, serverHostname: serverName), position: .first)
        }.get()
    }

    private static func makeTLSContext(_ settings: SMTPSettings) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let ca = settings.caFile {
            configuration.additionalTrustRoots = [.file(ca)]
        }
        return try NIOSSLContext(configuration: configuration)
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }

}

/// Splits the byte stream into lines, lines into replies, and hands each reply to whoever is
/// waiting for it. Runs on its channel's event loop only.
final class SMTPReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    /// Bytes received but not yet a whole line. Lines are split on bytes: in Swift strings
    /// "\r\n" is a single Character, so a Character search for "\n" would never find it.
    private var pending: [UInt8] = []
    private var parser = SMTPReplyParser()
    private var ready: [SMTPReply] = []
    private var waiting: [(id: Int, promise: EventLoopPromise<SMTPReply>, timer: Scheduled<Void>)] = []
    private var failure: (any Error)?
    private var nextID = 0

    /// Whether anything arrived that nobody has asked for yet: a whole reply or part of a line.
    var holdsUnreadBytes: Bool { !ready.isEmpty || !pending.isEmpty }

    /// Called on the channel's event loop `loop`.
    func nextReply(on loop: any EventLoop, timeout: TimeAmount, step: String) -> EventLoopFuture<SMTPReply> {
        if !ready.isEmpty { return loop.makeSucceededFuture(ready.removeFirst()) }
        if let failure { return loop.makeFailedFuture(failure) }
        let promise = loop.makePromise(of: SMTPReply.self)
        let id = nextID
        nextID += 1
        let timer = loop.scheduleTask(in: timeout) { [weak self] in
            guard let self, let index = self.waiting.firstIndex(where: { $0.id == id }) else { return }
            self.waiting.remove(at: index).promise.fail(SMTPError.timeout(step: step))
        }
        waiting.append((id, promise, timer))
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        pending += buffer.readBytes(length: buffer.readableBytes) ?? []
        while let newline = pending.firstIndex(of: 0x0A) {
            var line = Array(pending[..<newline])
            pending.removeFirst(newline + 1)
            if line.last == 0x0D { line.removeLast() }
            do {
                if let reply = try parser.feed(String(decoding: line, as: UTF8.self)) { deliver(reply) }
            } catch {
                fail(SMTPError.malformedReply)
                context.close(promise: nil)
                return
            }
        }
        if pending.count > 64 * 1024 {  // no real reply line is this long
            fail(SMTPError.malformedReply)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(SMTPError.connectionClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.close(promise: nil)
    }

    private func deliver(_ reply: SMTPReply) {
        if waiting.isEmpty {
            ready.append(reply)
        } else {
            let next = waiting.removeFirst()
            next.timer.cancel()
            next.promise.succeed(reply)
        }
    }

    private func fail(_ error: any Error) {
        if failure == nil { failure = error }
        let all = waiting
        waiting.removeAll()
        for entry in all {
            entry.timer.cancel()
            entry.promise.fail(error)
        }
    }
}
