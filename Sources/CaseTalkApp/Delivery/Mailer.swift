import CaseTalkCore
import Foundation
import NIOCore
import Vapor

/// What became of one message handed to a mailer.
enum DeliveryOutcome: Equatable, Sendable {
    case sent
    /// Worth another try later (no connection, timeout, a 4xx reply).
    case retry(reason: String)
    /// The server refused it for good (a 5xx reply).
    case rejected(reason: String)
}

/// Where email goes. Sends a batch in order over one connection where it can.
protocol Mailer: Sendable {
    func send(_ messages: [EmailMessage]) async -> [DeliveryOutcome]
}

/// Email over SMTP (SPEC §6), one session per batch.
struct SMTPMailer: Mailer {
    let settings: SMTPSettings
    let helloName: String
    let group: any EventLoopGroup
    let logger: Logger

    func send(_ messages: [EmailMessage]) async -> [DeliveryOutcome] {
        guard !messages.isEmpty else { return [] }
        let session: SMTPSession
        do {
            session = try await SMTPSession.open(settings, helloName: helloName, group: group)
        } catch {
            let reason = Self.describe(error)
            logger.warning("mail server unavailable", metadata: ["reason": .string(reason)])
            return messages.map { _ in .retry(reason: reason) }
        }
        var outcomes: [DeliveryOutcome] = []
        for message in messages {
            if let last = outcomes.last, case .retry = last {
                outcomes.append(last)  // the connection is gone; the rest wait for the next round
                continue
            }
            do {
                let rendered = message.rendered(date: Date(), messageID: UUID().uuidString + "@casetalk")
                try await session.send(from: message.from, to: message.to, rendered: rendered)
                outcomes.append(.sent)
            } catch let error as SMTPError where error.isPermanent {
                outcomes.append(.rejected(reason: error.description))
            } catch {
                outcomes.append(.retry(reason: Self.describe(error)))
            }
        }
        await session.close()
        return outcomes
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? SMTPError { return error.description }
        if error is NIOSSLError { return "the TLS handshake with the mail server failed" }
        return "could not reach the mail server"
    }

    static func helloName(for publicBaseURL: URL) -> String {
        guard let host = publicBaseURL.host, !host.isEmpty else { return "localhost" }
        return SMTPSession.isIPAddress(host) ? "[\(host)]" : host
    }
}

import NIOSSL
