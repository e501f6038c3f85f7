import Foundation

/// ClamAV's `INSTREAM` over TCP (clamd(8)): the command `zINSTREAM` and a NUL, the file in chunks
/// each led by its length as four big-endian bytes, a zero length to end, then one NUL-ended
/// reply: `stream: OK`, `stream: NAME FOUND`, or a line ending in `ERROR` (such as
/// `INSTREAM size limit exceeded. ERROR`).
public enum ClamdProtocol {
    public static let command: [UInt8] = Array("zINSTREAM".utf8) + [0]
    public static let end: [UInt8] = [0, 0, 0, 0]
    /// The most bytes one chunk carries (well under clamd's default `StreamMaxLength`).
    public static let chunkSize = 64 * 1024

    /// `bytes` framed as chunks.
    public static func chunks(_ bytes: [UInt8]) -> [[UInt8]] {
        stride(from: 0, to: bytes.count, by: chunkSize).map { start in
            let piece = bytes[start..<min(start + chunkSize, bytes.count)]
            let n = UInt32(piece.count)
            return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + piece
        }
    }

    public enum Verdict: Equatable, Sendable {
        case clean
        /// The signature's name, as clamd gave it.
        case infected(String)
    }

    /// clamd could not scan the stream (its own error, or no reply): the file must wait.
    public struct ScanFailed: Error, Equatable {
        public let reply: String
        public init(reply: String) { self.reply = reply }
    }

    /// The verdict in a reply (up to its NUL), or `ScanFailed`.
    public static func verdict(_ reply: [UInt8]) throws -> Verdict {
        let text = String(decoding: reply.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("stream: ") else { throw ScanFailed(reply: text) }
        let rest = text.dropFirst("stream: ".count)
        if rest == "OK" { return .clean }
        if rest.hasSuffix(" FOUND") { return .infected(String(rest.dropLast(" FOUND".count))) }
        throw ScanFailed(reply: text)
    }
}
