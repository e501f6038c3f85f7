/// When a photo was taken, as the camera wrote it (EXIF DateTimeOriginal: the camera's own clock,
/// without a zone), kept when the rest of the metadata goes (SPEC §8: "Photo taken {date}").
public struct CaptureTime: Equatable, Sendable {
    public let year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int

    /// "YYYY:MM:DD HH:MM:SS" (EXIF 2.3, 4.6.5), or nil for anything else, the all-blank and
    /// all-zero values cameras write when their clock is unset included.
    public init?(exif text: String) {
        let parts = text.split(whereSeparator: { $0 == ":" || $0 == " " }).map { Int($0) }
        guard parts.count == 6, let year = parts[0], let month = parts[1], let day = parts[2], let hour = parts[3],
              let minute = parts[4], let second = parts[5],
              (1900...2999).contains(year), (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour),
              (0...59).contains(minute), (0...60).contains(second) else { return nil }
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (year, month, day, hour, minute, second)
    }

    /// A time as `stored` wrote it, or nil.
    public init?(stored text: String) {
        self.init(exif: String(text.map { $0 == "-" ? ":" : $0 }))
    }

    /// As "Photo taken {date}" shows it: the camera's clock, which says no zone
    /// ("Nov 30, 2026 at 2:05 PM").
    public var shown: String { DisplayDate.wallClock(year: Int64(year), month: month, day: day, hour: hour, minute: minute) }

    /// As it is stored: "2026-11-30 14:05:09" (the camera's clock, no zone).
    public var stored: String {
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(hour)):\(two(minute)):\(two(second))"
    }
}

public enum ImageCleanerError: Error, Equatable, Sendable {
    /// Not a well-formed file of its type, or cut short (SPEC §8: "This file is empty or damaged.").
    case damaged
}

/// Removes an image's metadata as its bytes stream through, holding at most one metadata
/// segment at a time (64 KB for JPEG), never the image: GPS position, device, owner, XMP,
/// comments, embedded thumbnails, and anything after the image's end (where a polyglot hides a
/// script). What is kept: what draws the pixels (for JPEG also the JFIF header, the ICC colour
/// profile and Adobe's colour-transform segment; for PNG the colour and transparency chunks),
/// the capture time (read, then dropped with the rest), and a JPEG's orientation, written back
/// as the only field of a minimal EXIF segment so that browsers still show it upright.
///
/// JPEG and PNG are rewritten without the metadata. A WebP's metadata chunks are kept in place
/// but overwritten with zeros under an unknown name (its header's size must stay right while it
/// streams, and readers skip chunks they do not know), with the header's EXIF and XMP flags cleared.
/// HEIC, TIFF and BMP are not handled here (they need the image tool).
public struct ImageCleaner: Sendable {
    public let type: FileType
    /// The capture time, once the metadata holding it has gone through.
    public private(set) var takenAt: CaptureTime?
    /// A JPEG's EXIF orientation (1–8), once seen.
    public private(set) var orientation: Int?

    private var pending: [UInt8] = []
    private var state: State = .start
    /// Whether the minimal EXIF segment with the orientation has been written (JPEG).
    private var wroteOrientation = false
    /// WebP: the bytes of the RIFF container still to come; what follows it is dropped.
    private var riffLeft = 0

    private enum State: Equatable, Sendable {
        case start
        /// JPEG: before a marker; PNG and WebP: before a chunk's header.
        case headers
        /// JPEG: inside entropy-coded data, between markers.
        case entropy
        /// PNG and WebP: this many bytes of a kept chunk still to pass through (zeroed when `blank`).
        case copying(Int, blank: Bool)
        /// PNG: this many bytes of a dropped chunk still to pass over.
        case skipping(Int)
        case done
    }

    public static func handles(_ type: FileType) -> Bool { type == .jpeg || type == .png || type == .webp }

    public init(type: FileType) {
        precondition(Self.handles(type), "ImageCleaner handles JPEG, PNG and WebP")
        self.type = type
    }

    /// The cleaned bytes that `chunk` completes (some of its bytes may wait for the next chunk).
    public mutating func feed(_ chunk: some Collection<UInt8>) throws(ImageCleanerError) -> [UInt8] {
        guard state != .done else { return [] }   // after the image's end: dropped
        pending.append(contentsOf: chunk)
        var out: [UInt8] = []
        var at = 0
        switch type {
        case .jpeg: try jpeg(&out, &at)
        case .png: try png(&out, &at)
        default: try webp(&out, &at)
        }
        pending.removeFirst(at)
        return out
    }

    /// The end of the input: the last cleaned bytes. A file cut short, or without its end marker, is damaged.
    public mutating func finish() throws(ImageCleanerError) -> [UInt8] {
        let out = try feed([])
        guard state == .done else { throw .damaged }
        return out
    }

    // MARK: JPEG (ITU T.81 B.1: markers, segments, entropy-coded data with stuffed 0xFF bytes)

    private mutating func jpeg(_ out: inout [UInt8], _ at: inout Int) throws(ImageCleanerError) {
        let b = pending
        while true {
            switch state {
            case .start:
                guard b.count - at >= 2 else { return }
                guard b[at] == 0xFF, b[at + 1] == 0xD8 else { throw .damaged }
                out += [0xFF, 0xD8]
                at += 2
                state = .headers
            case .headers:
                var marker = at
                while marker < b.count, b[marker] == 0xFF { marker += 1 }
                guard marker < b.count else { return }
                guard marker > at else { throw .damaged }
                let code = b[marker]
                if code == 0xD9 { out += [0xFF, 0xD9]; at = marker + 1; state = .done; return }
                if code == 0x00 || code == 0xD8 { throw .damaged }
                if code == 0x01 || (0xD0...0xD7).contains(code) { out += [0xFF, code]; at = marker + 1; continue }
                guard marker + 2 < b.count else { return }
                let length = Int(b[marker + 1]) << 8 | Int(b[marker + 2])
                guard length >= 2 else { throw .damaged }
                let end = marker + 1 + length
                guard end <= b.count else { return }
                let segment = b[(marker + 3)..<end]
                switch code {
                case 0xE1:
                    guard segment.starts(with: Self.exifHeader) else { break }   // XMP and others: dropped
                    readExif(Array(segment.dropFirst(Self.exifHeader.count)))
                    if let orientation, orientation != 1, !wroteOrientation {
                        out += Self.orientationSegment(orientation)
                        wroteOrientation = true
                    }
                case 0xE0 where segment.starts(with: Array("JFIF\0".utf8)),
                     0xE2 where segment.starts(with: Array("ICC_PROFILE\0".utf8)),
                     0xEE where segment.starts(with: Array("Adobe".utf8)):
                    out += b[at..<end]
                case 0xE0...0xEF, 0xFE, 0xF0...0xFD:
                    break   // other application segments, comments and extensions: dropped
                case 0xDA:
                    out += b[at..<end]
                    state = .entropy
                default:
                    out += b[at..<end]   // tables, frame headers, restart interval: what draws the image
                }
                at = end
            case .entropy:
                var index = at
                while index < b.count {
                    guard b[index] == 0xFF else { index += 1; continue }
                    guard index + 1 < b.count else { break }
                    let next = b[index + 1]
                    if next == 0x00 || (0xD0...0xD7).contains(next) { index += 2; continue }
                    if next == 0xFF { index += 1; continue }   // a fill byte before a marker
                    break
                }
                out += b[at..<index]
                at = index
                guard index + 1 < b.count else { return }
                state = .headers   // a marker: the next scan's tables, or the end
            case .copying, .skipping, .done:
                return
            }
        }
    }

    private static let exifHeader = Array("Exif\0\0".utf8)

    /// APP1 with an EXIF block whose only field is the orientation (EXIF 2.3 4.6.4, tag 0x0112).
    public static func orientationSegment(_ orientation: Int) -> [UInt8] {
        let tiff: [UInt8] = [0x4D, 0x4D, 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08,   // big-endian, IFD0 at 8
                             0x00, 0x01,                                         // one entry
                             0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,     // Orientation, SHORT, 1
                             0x00, UInt8(orientation), 0x00, 0x00,
                             0x00, 0x00, 0x00, 0x00]                             // no next IFD
        let length = 2 + exifHeader.count + tiff.count
        return [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + exifHeader + tiff
    }

    /// Orientation from IFD0 and DateTimeOriginal from the EXIF directory it points to.
    private mutating func readExif(_ tiff: [UInt8]) {
        guard tiff.count >= 8, tiff[0] == tiff[1], tiff[0] == 0x49 || tiff[0] == 0x4D else { return }
        let little = tiff[0] == 0x49
        func u16(_ at: Int) -> Int? { little ? BytesLE.u16(tiff, at) : BytesBE.u16(tiff, at) }
        func u32(_ at: Int) -> Int? { little ? BytesLE.u32(tiff, at) : BytesBE.u32(tiff, at) }
        func entries(_ directory: Int) -> [(tag: Int, type: Int, count: Int, field: Int)] {
            guard let n = u16(directory), n < 1000 else { return [] }
            return (0..<n).compactMap { i in
                let e = directory + 2 + 12 * i
                guard let tag = u16(e), let type = u16(e + 2), let count = u32(e + 4), e + 12 <= tiff.count else { return nil }
                return (tag, type, count, e + 8)
            }
        }
        guard let first = u32(4) else { return }
        for entry in entries(first) {
            if entry.tag == 0x0112, entry.type == 3, let value = u16(entry.field), (1...8).contains(value) { orientation = value }
            if entry.tag == 0x8769, let exif = u32(entry.field) {
                for field in entries(exif) where field.tag == 0x9003 && field.type == 2 && field.count >= 19 {
                    guard let offset = u32(field.field), offset + 19 <= tiff.count else { continue }
                    takenAt = CaptureTime(exif: String(decoding: tiff[offset..<(offset + 19)], as: UTF8.self))
                }
            }
        }
    }

    // MARK: PNG (ISO 15948 5.3: length, type, data, CRC)

    /// Kept: what draws the pixels and their colour and transparency (and animation). Dropped:
    /// text (tEXt, zTXt, iTXt, where XMP and comments live), eXIf, tIME, and any chunk not known here.
    private static let pngKept: Set<String> = ["IHDR", "PLTE", "IDAT", "IEND", "tRNS", "gAMA", "cHRM", "sRGB", "iCCP", "sBIT",
                                               "pHYs", "bKGD", "hIST", "cICP", "mDCv", "cLLi", "acTL", "fcTL", "fdAT"]

    private mutating func png(_ out: inout [UInt8], _ at: inout Int) throws(ImageCleanerError) {
        let b = pending
        while true {
            switch state {
            case .start:
                guard b.count - at >= 8 else { return }
                guard Array(b[at..<(at + 8)]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { throw .damaged }
                out += b[at..<(at + 8)]
                at += 8
                state = .headers
            case .headers:
                guard b.count - at >= 8 else { return }
                guard let length = BytesBE.u32(b, at), length < 0x8000_0000 else { throw .damaged }
                let name = String(decoding: b[(at + 4)..<(at + 8)], as: UTF8.self)
                let total = 12 + length
                if name == "IEND" {
                    guard b.count - at >= total else { return }
                    out += b[at..<(at + total)]
                    at += total
                    state = .done   // whatever follows the end is dropped
                    return
                }
                if name == "eXIf" {
                    // Read for the capture time when it fits in one piece, then dropped (browsers
                    // do not turn a PNG by its orientation, so there is none to keep).
                    guard length > 65_536 || b.count - at >= total else { return }
                    if length <= 65_536 { readExif(Array(b[(at + 8)..<(at + 8 + length)])) }
                    orientation = nil
                }
                state = Self.pngKept.contains(name) ? .copying(total, blank: false) : .skipping(total)
            case .copying(let left, _):
                let now = min(left, b.count - at)
                out += b[at..<(at + now)]
                at += now
                guard left == now else { state = .copying(left - now, blank: false); return }
                state = .headers
            case .skipping(let left):
                let now = min(left, b.count - at)
                at += now
                guard left == now else { state = .skipping(left - now); return }
                state = .headers
            case .entropy, .done:
                return
            }
        }
    }

    // MARK: WebP (RIFF: fourCC, little-endian size, data padded to even length)

    private mutating func webp(_ out: inout [UInt8], _ at: inout Int) throws(ImageCleanerError) {
        // Only the RIFF container's own bytes are looked at; what follows it is dropped.
        var b = pending
        if state != .start { b = Array(b.prefix(at + riffLeft)) }
        while true {
            switch state {
            case .start:
                guard b.count - at >= 12 else { return }
                guard Array(b[at..<(at + 4)]) == Array("RIFF".utf8), Array(b[(at + 8)..<(at + 12)]) == Array("WEBP".utf8),
                      let size = BytesLE.u32(b, at + 4), size >= 4 else { throw .damaged }
                out += b[at..<(at + 12)]
                at += 12
                riffLeft = size - 4
                b = Array(b.prefix(at + riffLeft))
                state = riffLeft == 0 ? .done : .headers
            case .headers:
                guard b.count - at >= 8, let size = BytesLE.u32(b, at + 4) else { return }
                let name = String(decoding: b[at..<(at + 4)], as: UTF8.self)
                let data = size + size % 2
                guard 8 + data <= riffLeft else { throw .damaged }
                switch name {
                case "VP8X":
                    guard size == 10, b.count - at >= 9 else { if size != 10 { throw .damaged }; return }
                    var header = Array(b[at..<(at + 9)])
                    header[8] &= ~0x0C   // the EXIF and XMP flags (VP8X: Rsv I L E X A R)
                    out += header
                    take(9, &at)
                    state = .copying(data - 1, blank: false)
                case "EXIF", "XMP ":
                    if name == "EXIF" {
                        guard data > 65_536 || b.count - at >= 8 + data else { return }
                        if data <= 65_536 {
                            let payload = Array(b[(at + 8)..<(at + 8 + size)])
                            readExif(payload.starts(with: Self.exifHeader) ? Array(payload.dropFirst(Self.exifHeader.count)) : payload)
                            orientation = nil
                        }
                    }
                    out += Array("JUNK".utf8) + b[(at + 4)..<(at + 8)]
                    take(8, &at)
                    state = .copying(data, blank: true)
                default:
                    out += b[at..<(at + 8)]
                    take(8, &at)
                    state = .copying(data, blank: false)
                }
            case .copying(let left, let blank):
                let now = min(left, b.count - at)
                out += blank ? [UInt8](repeating: 0, count: now) : Array(b[at..<(at + now)])
                take(now, &at)
                guard left == now else { state = .copying(left - now, blank: blank); return }
                state = riffLeft == 0 ? .done : .headers
            case .done:
                at = pending.count   // after the container: dropped
                return
            case .entropy, .skipping:
                return
            }
        }
    }

    private mutating func take(_ count: Int, _ at: inout Int) {
        at += count
        riffLeft -= count
    }
}
