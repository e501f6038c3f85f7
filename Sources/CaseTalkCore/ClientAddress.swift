import Foundation

/// An IPv4 or IPv6 address as its bytes (4 or 16). IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`)
/// are taken as the IPv4 address they carry, so a proxy is recognised however the socket reports it.
public struct IPAddress: Equatable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(_ text: String) {
        let text = text.trimmingCharacters(in: .whitespaces)
        if let v4 = Self.parseIPv4(Substring(text)) { bytes = v4; return }
        guard let v6 = Self.parseIPv6(text) else { return nil }
        if v6[0..<10].allSatisfy({ $0 == 0 }) && v6[10] == 0xFF && v6[11] == 0xFF {
            bytes = Array(v6[12..<16])
        } else {
            bytes = v6
        }
    }

    public var description: String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: 16, by: 2).map { String(Int(bytes[$0]) << 8 | Int(bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }

    static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.utf8.count), part.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                  let value = Int(part), value <= 255 else { return nil }
            out.append(UInt8(value))
        }
        return out
    }

    static func parseIPv6(_ text: String) -> [UInt8]? {
        guard text.utf8.count <= 45, !text.isEmpty else { return nil }
        func groups(_ part: Substring) -> [UInt8]? {
            if part.isEmpty { return [] }
            var out: [UInt8] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = parseIPv4(piece) else { return nil }
                    out += v4
                    continue
                }
                guard (1...4).contains(piece.utf8.count), let value = UInt16(piece, radix: 16) else { return nil }
                out += [UInt8(value >> 8), UInt8(value & 0xFF)]
            }
            return out
        }
        let halves = text.components(separatedBy: "::")
        switch halves.count {
        case 1:
            guard let all = groups(Substring(text)), all.count == 16 else { return nil }
            return all
        case 2:
            guard let head = groups(Substring(halves[0])), let tail = groups(Substring(halves[1])), head.count + tail.count <= 14 else {
                return nil
            }
            return head + Array(repeating: 0, count: 16 - head.count - tail.count) + tail
        default:
            return nil
        }
    }
}

/// An address or a CIDR range (`10.0.0.0/8`, `fd00::/8`, `192.0.2.7`).
public struct IPRange: Equatable, Sendable {
    public let network: IPAddress
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = IPAddress(String(parts[0])) else { return nil }
        let bits = address.bytes.count * 8
        var length = bits
        if parts.count == 2 {
            guard (1...3).contains(parts[1].utf8.count), parts[1].utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                  let value = Int(parts[1]), value <= bits else { return nil }
            // A mapped IPv4 range written in IPv6 (`::ffff:10.0.0.0/104`) counts from the IPv4 part.
            length = String(parts[0]).contains(":") && address.bytes.count == 4 ? value - 96 : value
            guard length >= 0 else { return nil }
        }
        network = address
        prefixLength = length
    }

    public func contains(_ address: IPAddress) -> Bool {
        guard address.bytes.count == network.bytes.count else { return false }
        var remaining = prefixLength
        for index in network.bytes.indices where remaining > 0 {
            let take = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - take))
            if address.bytes[index] & mask != network.bytes[index] & mask { return false }
            remaining -= take
        }
        return true
    }
}

/// Who the client is (SPEC §5, "Behind a proxy"): the TCP peer, unless the peer is one of the
/// trusted proxies; then the right-most address of `X-Forwarded-For` that is not a trusted proxy.
/// Nothing in the header is believed from anyone else.
public struct TrustedProxies: Equatable, Sendable {
    public let ranges: [IPRange]

    public init(ranges: [IPRange]) { self.ranges = ranges }

    /// Parses `TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges. Nil names the first
    /// entry that is neither.
    public static func parse(_ text: String) -> Result<TrustedProxies, ParseError> {
        var ranges: [IPRange] = []
        for entry in text.split(separator: ",") {
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            guard let range = IPRange(trimmed) else { return .failure(ParseError(entry: String(trimmed.prefix(60)))) }
            ranges.append(range)
        }
        return .success(TrustedProxies(ranges: ranges))
    }

    public struct ParseError: Error, Equatable {
        public let entry: String
        public init(entry: String) { self.entry = entry }
    }

    public func isTrusted(_ address: IPAddress) -> Bool { ranges.contains { $0.contains(address) } }

    /// The client's address given the peer's and the `X-Forwarded-For` values (in order, each
    /// possibly a comma-separated list).
    public func client(peer: String?, forwardedFor: [String]) -> String {
        guard let peerText = peer, let peerAddress = IPAddress(peerText) else { return peer ?? "unknown" }
        guard isTrusted(peerAddress) else { return peerAddress.description }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() {
            guard let address = IPAddress(hop) else { return peerAddress.description }   // garbage: stop believing
            if !isTrusted(address) { return address.description }
        }
        return hops.first.flatMap(IPAddress.init)?.description ?? peerAddress.description
    }
}
