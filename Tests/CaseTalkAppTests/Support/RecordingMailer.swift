@testable import CaseTalkApp
import CaseTalkCore
import NIOConcurrencyHelpers

/// A mailer that keeps what it sends and answers from a script first (`.retry`, `.rejected`, …),
/// then `.sent`.
final class RecordingMailer: Mailer, Sendable {
    private let state: NIOLockedValueBox<(sent: [EmailMessage], script: [DeliveryOutcome], calls: Int)>

    init(script: [DeliveryOutcome] = []) { state = NIOLockedValueBox(([], script, 0)) }

    func send(_ messages: [EmailMessage]) async -> [DeliveryOutcome] {
        state.withLockedValue { state in
            state.calls += 1
            return messages.map { message in
                let outcome = state.script.isEmpty ? .sent : state.script.removeFirst()
                if outcome == .sent { state.sent.append(message) }
                return outcome
            }
        }
    }

    var sent: [EmailMessage] { state.withLockedValue { $0.sent } }

    /// The invitation link tokens in the messages sent so far, in order.
    var tokens: [String] { tokens(after: "/register/") }

    /// The tokens of links under `prefix` (like `/password/reset/`) in the messages sent so far, in order.
    func tokens(after prefix: String) -> [String] {
        sent.compactMap { message in
            message.text.range(of: prefix + "[A-Za-z0-9_-]{43}", options: .regularExpression)
                .map { String(message.text[$0].dropFirst(prefix.count)) }
        }
    }
}
