/// An image's size in pixels.
public struct PixelSize: Equatable, Sendable, CustomStringConvertible {
    public let width: Int
    public let height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    public var pixels: Int { width * height }
    public var description: String { "\(width)×\(height)" }
}

/// Reads an image's pixel size from its header, before anything decodes it (SPEC §8: a 29 KB
/// JPEG can claim 60,000 × 60,000 pixels, and a decoder would try to make room for them). Only
/// the header's own fields are read, by each format's specification: JPEG's frame header (SOF),
/// PNG's IHDR, WebP's VP8 / VP8L / VP8X header, TIFF's first directory, BMP's info header, and
/// HEIF's `ispe` properties (the largest, so a grid or thumbnail cannot hide the primary image).
public enum ImageHeader {
    public enum Reading: Equatable, Sendable {
        case size(PixelSize)
        /// The header goes on past the bytes given: read more of the file and ask again.
        case needMore
        /// Not a header of this type, or one that says nothing sensible (a zero side).
        case damaged
    }

    /// The size `bytes` (the file's beginning; `complete` when it is the whole file) give for an
    /// image of `type`. Documents (PDF, DICOM) have none: `.damaged`.
    public static func pixelSize(of type: FileType, in bytes: [UInt8], complete: Bool) -> Reading {
        let found: Found
        switch type {
        case .jpeg: found = jpeg(bytes)
        case .png: found = png(bytes)
        case .webp: found = webp(bytes)
        case .bmp: found = bmp(bytes)
        case .tiff: found = tiff(bytes)
        case .heic: found = heif(bytes, complete: complete)
        case .pdf, .dicom: found = .damaged
        }
        switch found {
        case .size(let width, let height): return width > 0 && height > 0 ? .size(PixelSize(width: width, height: height)) : .damaged
        case .short: return complete ? .damaged : .needMore
        case .damaged: return .damaged
        }
    }

    private enum Found { case size(Int, Int), short, damaged }

    /// Walks the markers to the first frame header (ITU T.81 B.1.1, B.2.2); SOS or EOI before one
    /// means there is none.
    private static func jpeg(_ b: [UInt8]) -> Found {
        var at = 2
        while true {
            guard at < b.count else { return .short }
            guard b[at] == 0xFF else { return .damaged }
            var marker = at + 1
            while marker < b.count, b[marker] == 0xFF { marker += 1 }   // fill bytes
            guard marker < b.count else { return .short }
            let code = b[marker]
            if code == 0x01 || code == 0xD8 || (0xD0...0xD7).contains(code) { at = marker + 1; continue }   // no length
            if code == 0xD9 || code == 0xDA || code == 0x00 { return .damaged }
            guard let length = BytesBE.u16(b, marker + 1) else { return .short }
            guard length >= 2 else { return .damaged }
            if (0xC0...0xCF).contains(code), ![0xC4, 0xC8, 0xCC].contains(code) {
                // Length, precision, then the number of lines and of samples per line.
                guard length >= 8 else { return .damaged }
                guard let height = BytesBE.u16(b, marker + 4), let width = BytesBE.u16(b, marker + 6) else { return .short }
                return .size(width, height)
            }
            at = marker + 1 + length
        }
    }

    /// IHDR comes first, its width and height big-endian (ISO 15948 11.2.2).
    private static func png(_ b: [UInt8]) -> Found {
        guard b.count >= 24 else { return .short }
        guard Array(b[12..<16]) == Array("IHDR".utf8), let width = BytesBE.u32(b, 16), let height = BytesBE.u32(b, 20) else {
            return .damaged
        }
        return .size(width, height)
    }

    /// The first chunk says which bitstream follows and where its size is.
    private static func webp(_ b: [UInt8]) -> Found {
        guard b.count >= 30 else { return .short }
        switch String(decoding: b[12..<16], as: UTF8.self) {
        case "VP8 ":
            // A key frame's start code, then 14-bit width and height (RFC 6386 9.1).
            guard Array(b[23..<26]) == [0x9D, 0x01, 0x2A], let width = BytesLE.u16(b, 26), let height = BytesLE.u16(b, 28) else {
                return .damaged
            }
            return .size(width & 0x3FFF, height & 0x3FFF)
        case "VP8L":
            // The signature byte, then width − 1 and height − 1 in 14 bits each (WebP lossless 3.1).
            guard b[20] == 0x2F, let bits = BytesLE.u32(b, 21) else { return .damaged }
            return .size((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        case "VP8X":
            // The canvas: width − 1 and height − 1 in 24 bits each.
            guard let width = BytesLE.u24(b, 24), let height = BytesLE.u24(b, 27) else { return .damaged }
            return .size(width + 1, height + 1)
        default:
            return .damaged
        }
    }

    /// The info header after the 14-byte file header: 16-bit sides in the old 12-byte form,
    /// signed 32-bit otherwise (a negative height is a top-down image).
    private static func bmp(_ b: [UInt8]) -> Found {
        guard let header = BytesLE.u32(b, 14) else { return .short }
        if header == 12 {
            guard let width = BytesLE.u16(b, 18), let height = BytesLE.u16(b, 20) else { return .short }
            return .size(width, height)
        }
        guard header >= 40 else { return .damaged }
        guard let width = BytesLE.u32(b, 18), let height = BytesLE.u32(b, 22) else { return .short }
        return .size(abs(Int(Int32(truncatingIfNeeded: width))), abs(Int(Int32(truncatingIfNeeded: height))))
    }

    /// ImageWidth (256) and ImageLength (257) in the first directory (TIFF 6.0 §2, §8), which
    /// may lie anywhere in the file.
    private static func tiff(_ b: [UInt8]) -> Found {
        guard b.count >= 8 else { return .short }
        let little = b[0] == 0x49
        func u16(_ at: Int) -> Int? { little ? BytesLE.u16(b, at) : BytesBE.u16(b, at) }
        func u32(_ at: Int) -> Int? { little ? BytesLE.u32(b, at) : BytesBE.u32(b, at) }
        guard let directory = u32(4), directory >= 8 else { return .damaged }
        guard let entries = u16(directory) else { return .short }
        guard entries > 0 else { return .damaged }
        var width: Int?, height: Int?
        for index in 0..<entries {
            let entry = directory + 2 + 12 * index
            guard let tag = u16(entry), let type = u16(entry + 2) else { return .short }
            guard tag == 256 || tag == 257 else { continue }
            let value: Int?
            switch type {
            case 3: value = u16(entry + 8)
            case 4: value = u32(entry + 8)
            default: return .damaged
            }
            guard let value else { return .short }
            if tag == 256 { width = value } else { height = value }
            if let width, let height { return .size(width, height) }
        }
        return .damaged
    }

    /// `ispe` (image spatial extents) properties under meta → iprp → ipco (ISO 23008-12 6.5.3).
    private static func heif(_ b: [UInt8], complete: Bool) -> Found {
        var sizes: [(Int, Int)] = []
        var short = false
        func walk(_ range: Range<Int>, path: [String]) {
            var at = range.lowerBound
            while at + 8 <= range.upperBound {
                guard var size = BytesBE.u32(b, at) else { short = true; return }
                let type = String(decoding: b[(at + 4)..<(at + 8)], as: UTF8.self)
                var header = 8
                if size == 1 {
                    guard let large = BytesBE.u64(b, at + 8) else { short = true; return }
                    size = large
                    header = 16
                } else if size == 0 {
                    size = range.upperBound - at
                }
                guard size >= header else { return }
                let end = at + size
                if end > range.upperBound { short = true }
                let content = (at + header)..<min(end, range.upperBound)
                switch (path.last, type) {
                case (nil, "meta"): walk(min(content.lowerBound + 4, content.upperBound)..<content.upperBound, path: ["meta"])   // a full box
                case ("meta", "iprp"), ("iprp", "ipco"): walk(content, path: path + [type])
                case ("ipco", "ispe"):
                    if let width = BytesBE.u32(b, content.lowerBound + 4), let height = BytesBE.u32(b, content.lowerBound + 8) {
                        sizes.append((width, height))
                    } else { short = true }
                default: break
                }
                if path.isEmpty, type == "meta", !sizes.isEmpty { return }
                at = end
            }
            if at < range.upperBound { short = true }
        }
        walk(0..<b.count, path: [])
        if let widest = sizes.map(\.0).max(), let tallest = sizes.map(\.1).max() { return .size(widest, tallest) }
        return short || !complete ? .short : .damaged
    }
}
