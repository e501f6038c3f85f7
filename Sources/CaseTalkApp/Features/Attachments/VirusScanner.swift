import CaseTalkCore
import Foundation
import NIOCore
import NIOPosix

/// Checks a file before anyone is shown it (`CLAMD_ADDRESS`, SPEC §8).
protocol VirusScanner: Sendable {
    /// Scans the bytes `content` writes, in order; throws when the scan could not be made (the
    /// scanner unreachable or failing), in which case the file waits and is tried again.
    func scan(_ content: (_ write: ([UInt8]) async throws -> Void) async throws -> Void) async throws -> ClamdProtocol.Verdict
}

/// A ClamAV daemon on TCP, spoken to with `INSTREAM` (`ClamdProtocol`), one connection a file.
struct ClamdScanner: VirusScanner {
    let address: ClamdAddress
    let group: any EventLoopGroup
    /// How long one file's scan may take, connecting included.
    static let timeout: Duration = .seconds(120)

    func scan(_ content: (_ write: ([UInt8]) async throws -> Void) async throws -> Void) async throws -> ClamdProtocol.Verdict {
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(5))
            .connect(host: address.host, port: address.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let deadline = ContinuousClock.now + Self.timeout
        // The connection is closed at the deadline, which ends a stalled write or read with an error.
        let watchdog = Task {
            try await Task.sleep(until: deadline, clock: .continuous)
            try? await channel.channel.close()
        }
        defer { watchdog.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: ClamdProtocol.command))
            try await content { piece in
                for chunk in ClamdProtocol.chunks(piece) { try await outbound.write(ByteBuffer(bytes: chunk)) }
            }
            try await outbound.write(ByteBuffer(bytes: ClamdProtocol.end))
            var reply: [UInt8] = []
            for try await buffer in inbound {
                reply += buffer.readableBytesView
                if reply.contains(0) || reply.count > 4096 { break }
            }
            return try ClamdProtocol.verdict(reply)
        }
    }
}

/// `CLAMD_ADDRESS`: `host:port` (`[::1]:3310` for an IPv6 address).
public struct ClamdAddress: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public static func parse(_ text: String) -> ClamdAddress? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains("/"), !host.contains(" ") else { return nil }
        return ClamdAddress(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
