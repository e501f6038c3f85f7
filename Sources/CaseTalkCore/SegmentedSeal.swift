import Crypto
import Foundation

/// A stored file encrypted with AES-256-GCM in segments (SPEC §8, issue 19 item 6), so that
/// neither writing nor reading it ever holds more than a segment: each file (and each of its
/// thumbnail and view) has its own random key, which the data key seals (`Sealer`) into the
/// file's row; the file's id and variant are bound in as associated data, so a stored object
/// copied under another row's key or name does not open.
///
/// Layout: segments of `segmentSize` plaintext bytes, each stored as ciphertext ‖ 16-byte tag,
/// the last one full or shorter (an empty file is one empty segment). The nonce is the segment's number and whether it is the last (the STREAM
/// construction of Hoang, Reyhanitabar, Rogaway and Vizár, "Online Authenticated-Encryption
/// and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015): segments cannot be reordered, dropped,
/// or cut off at a segment boundary without the read failing. Segment `n` starts at byte
/// `n × (segmentSize + 16)`, so a range can be read from its segment on.
///
/// The nonces are the same for every file, so a key seals one file once and nothing else: a
/// thumbnail, a view or an upload tried again gets a key of its own (`newKey`).
public enum SegmentedSeal {
    public static let segmentSize = 64 * 1024
    static let tagSize = 16
    public static var storedSegmentSize: Int { segmentSize + tagSize }

    /// The stored size of a file of `plaintext` bytes.
    public static func storedSize(plaintext: Int) -> Int {
        max(1, (plaintext + segmentSize - 1) / segmentSize) * tagSize + plaintext
    }

    public enum OpenError: Error, Equatable, Sendable {
        /// A segment does not open: another key or file, altered, reordered, or cut short.
        case damaged
    }

    /// A new random file key.
    public static func newKey() -> [UInt8] { SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) } }

    /// The associated data: what the stored bytes are (the attachment's id and which variant).
    static func context(fileID: String, variant: String) -> [UInt8] { Array("casetalk attachment \(fileID) \(variant)".utf8) }

    static func nonce(_ number: Int, last: Bool) throws -> AES.GCM.Nonce {
        guard number < Int(UInt32.max) else { throw OpenError.damaged }
        let n = UInt32(number)
        return try AES.GCM.Nonce(data: [0, 0, 0, 0, 0, 0, 0,
                                        UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF),
                                        last ? 1 : 0])
    }

    /// Encrypts as bytes arrive. A full segment is held until more bytes come, since only then is
    /// it known not to be the last.
    public struct Writer: Sendable {
        private let key: SymmetricKey
        private let context: [UInt8]
        private var buffer: [UInt8] = []
        private var number = 0

        public init(key: [UInt8], fileID: String, variant: String) {
            precondition(key.count == 32, "file keys are 32 bytes")
            self.key = SymmetricKey(data: key)
            context = SegmentedSeal.context(fileID: fileID, variant: variant)
        }

        /// The stored bytes of the segments `bytes` completes.
        public mutating func feed(_ bytes: some Collection<UInt8>) throws -> [UInt8] {
            buffer.append(contentsOf: bytes)
            var out: [UInt8] = []
            var start = 0
            while buffer.count - start > segmentSize {
                out += try seal(buffer[start..<(start + segmentSize)], last: false)
                start += segmentSize
            }
            buffer.removeFirst(start)
            return out
        }

        /// The last segment.
        public mutating func finish() throws -> [UInt8] {
            let out = try seal(buffer[...], last: true)
            buffer = []
            return out
        }

        private mutating func seal(_ plaintext: ArraySlice<UInt8>, last: Bool) throws -> [UInt8] {
            let box = try AES.GCM.seal(plaintext, using: key, nonce: try nonce(number, last: last), authenticating: context)
            number += 1
            return Array(box.ciphertext) + Array(box.tag)
        }
    }

    /// Decrypts as stored bytes arrive, from segment `firstSegment` on (0 for the whole file).
    /// Nothing is given out that has not been authenticated.
    public struct Reader: Sendable {
        private let key: SymmetricKey
        private let context: [UInt8]
        private var buffer: [UInt8] = []
        private var number: Int
        private var ended = false

        public init(key: [UInt8], fileID: String, variant: String, firstSegment: Int = 0) {
            precondition(key.count == 32, "file keys are 32 bytes")
            self.key = SymmetricKey(data: key)
            context = SegmentedSeal.context(fileID: fileID, variant: variant)
            number = firstSegment
        }

        /// The plaintext of the segments `bytes` completes (a full one waits for what follows it).
        public mutating func feed(_ bytes: some Collection<UInt8>) throws(OpenError) -> [UInt8] {
            guard !ended else { throw .damaged }
            buffer.append(contentsOf: bytes)
            var out: [UInt8] = []
            var start = 0
            while buffer.count - start > storedSegmentSize {
                out += try open(buffer[start..<(start + storedSegmentSize)], last: false)
                start += storedSegmentSize
            }
            buffer.removeFirst(start)
            return out
        }

        /// The end of the stored bytes: the last segment's plaintext; `.damaged` if it is not the last.
        public mutating func finish() throws(OpenError) -> [UInt8] {
            guard !ended, buffer.count >= tagSize else { throw .damaged }
            ended = true
            return try open(buffer[...], last: true)
        }

        private mutating func open(_ stored: ArraySlice<UInt8>, last: Bool) throws(OpenError) -> [UInt8] {
            do {
                let box = try AES.GCM.SealedBox(nonce: try nonce(number, last: last), ciphertext: stored.dropLast(tagSize),
                                                tag: stored.suffix(tagSize))
                let plaintext = try AES.GCM.open(box, using: key, authenticating: context)
                number += 1
                return Array(plaintext)
            } catch {
                throw .damaged
            }
        }
    }
}
