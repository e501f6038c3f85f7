import Crypto

/// One attached file on its way in (SPEC §8, issue 19 items 3–6), as its bytes arrive: counted
/// against the limit, its type decided by its first bytes, an image's pixel size read from its
/// header before anything decodes it, its metadata removed (`ImageCleaner`), hashed, and sealed
/// for storage (`SegmentedSeal`). It holds at most the file's first `headLimit` bytes (while the
/// type and size are decided) and a segment, never the file, and gives back the sealed bytes to
/// store as it goes. A problem stops it at once with SPEC §8's words; nothing it gave back may
/// then be kept.
public struct AttachmentPipeline: Sendable {
    /// How far into a file its header may reach: JPEG's frame header comes after the EXIF and
    /// other application segments (64 KB each at most).
    public static let headLimit = 1 << 20

    public enum Problem: Error, Equatable, Sendable {
        /// Over the limit after `atLeast` bytes (the rest was not read).
        case tooLarge(atLeast: Int, limit: Int)
        case wrongType(staff: Bool)
        case imageTooLarge
        case emptyOrDamaged

        /// The words shown beside the file (`shownSize`: the file's size when the browser said it).
        public func message(shownSize: Int? = nil) -> String {
            switch self {
            case .tooLarge(let atLeast, let limit): AttachmentLimits.tooLargeMessage(size: max(shownSize ?? atLeast, atLeast), limit: limit)
            case .wrongType(let staff): AttachmentLimits.wrongTypeMessage(staff: staff)
            case .imageTooLarge: AttachmentLimits.imageTooLargeMessage
            case .emptyOrDamaged: AttachmentLimits.emptyOrDamagedMessage
            }
        }
    }

    /// What was stored.
    public struct Stored: Equatable, Sendable {
        public let type: FileType
        /// The bytes received, and those stored (after the metadata went).
        public let receivedBytes: Int
        public let storedBytes: Int
        /// SHA-256 of the stored plaintext, hex.
        public let sha256: String
        public let pixelSize: PixelSize?
        public let takenAt: CaptureTime?
        /// A JPEG's orientation (1–8) as its EXIF gave it.
        public let orientation: Int?
        /// Whether the metadata was removed here. HEIC, TIFF and BMP are kept as they came and
        /// need the image tool before anyone may see them; documents have no image metadata.
        public let cleaned: Bool

        /// The same file as the image tool wrote it anew (upright, without metadata): its type,
        /// size, digest and pixel size; the capture time stays.
        public func rewritten(as type: FileType, bytes: Int, sha256: String, pixelSize: PixelSize?) -> Stored {
            Stored(type: type, receivedBytes: receivedBytes, storedBytes: bytes, sha256: sha256, pixelSize: pixelSize,
                   takenAt: takenAt, orientation: nil, cleaned: true)
        }
    }

    private let limits: AttachmentLimits
    private var writer: SegmentedSeal.Writer
    private var hash = SHA256()
    private var received = 0
    private var stored = 0
    private var head: [UInt8] = []
    private var type: FileType?
    private var pixelSize: PixelSize?
    private var cleaner: ImageCleaner?
    /// Whether the type and size are decided and bytes flow through.
    private var flowing = false

    /// `key`: the file's own new key (`SegmentedSeal.newKey()`); `fileID`: its attachment's id.
    public init(limits: AttachmentLimits, key: [UInt8], fileID: String, variant: String = "original") {
        self.limits = limits
        writer = SegmentedSeal.Writer(key: key, fileID: fileID, variant: variant)
    }

    /// The sealed bytes to store that `chunk` completes.
    public mutating func feed(_ chunk: some Collection<UInt8>) throws(Problem) -> [UInt8] {
        received += chunk.count
        guard received <= limits.maxFileBytes else { throw .tooLarge(atLeast: received, limit: limits.maxFileBytes) }
        if flowing { return try pass(chunk) }
        head.append(contentsOf: chunk)
        guard try decide(complete: false) else { return [] }
        return try release()
    }

    /// The end of the file: the last sealed bytes, and what was stored.
    public mutating func finish() throws(Problem) -> (sealed: [UInt8], stored: Stored) {
        var out: [UInt8] = []
        if !flowing {
            guard received > 0, try decide(complete: true) else { throw .emptyOrDamaged }
            out += try release()
        }
        if cleaner != nil {
            do { out += try seal(try cleaner!.finish()) } catch { throw .emptyOrDamaged }
        }
        do { out += try writer.finish() } catch { throw .emptyOrDamaged }
        let digest = Digest.hex(hash.finalize())
        let type = self.type!
        return (out, Stored(type: type, receivedBytes: received, storedBytes: stored, sha256: digest, pixelSize: pixelSize,
                            takenAt: cleaner?.takenAt, orientation: cleaner?.orientation,
                            cleaned: cleaner != nil || !type.isImage))
    }

    /// Whether the type (and for an image its pixel size) is known from `head`; throws when what
    /// is known refuses the file.
    private mutating func decide(complete: Bool) throws(Problem) -> Bool {
        if type == nil {
            guard head.count >= FileType.headLength || complete else { return false }
            guard let detected = FileType.detect(head) else {
                if head.isEmpty { throw .emptyOrDamaged }
                throw .wrongType(staff: limits.staff)
            }
            if limits.typeProblem(detected) != nil { throw .wrongType(staff: limits.staff) }
            type = detected
        }
        guard let type, type.isImage else { return true }
        switch ImageHeader.pixelSize(of: type, in: head, complete: complete || head.count >= Self.headLimit) {
        case .size(let size):
            guard AttachmentLimits.pixelProblem(size) == nil else { throw .imageTooLarge }
            pixelSize = size
            return true
        case .needMore: return false
        case .damaged: throw .emptyOrDamaged
        }
    }

    /// The held beginning, now that it may go on.
    private mutating func release() throws(Problem) -> [UInt8] {
        flowing = true
        if let type, ImageCleaner.handles(type) { cleaner = ImageCleaner(type: type) }
        let bytes = head
        head = []
        return try pass(bytes)
    }

    private mutating func pass(_ chunk: some Collection<UInt8>) throws(Problem) -> [UInt8] {
        guard cleaner != nil else { return try seal(Array(chunk)) }
        let clean: [UInt8]
        do { clean = try cleaner!.feed(chunk) } catch { throw .emptyOrDamaged }
        return try seal(clean)
    }

    private mutating func seal(_ bytes: [UInt8]) throws(Problem) -> [UInt8] {
        stored += bytes.count
        hash.update(data: bytes)
        do { return try writer.feed(bytes) } catch { throw .emptyOrDamaged }
    }
}
