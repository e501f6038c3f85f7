/// What an attached file is, decided by its first bytes (SPEC §8): never by its name or the
/// Content-Type a browser sent. Signatures as listed in the OWASP File Upload Cheat Sheet and
/// each format's own specification (JPEG: ITU T.81 B.1; PNG: ISO 15948 5.2; WebP: RIFF container;
/// TIFF 6.0 §2; BMP: BITMAPFILEHEADER; HEIF: ISO 23008-12 `ftyp` brands; PDF: ISO 32000 7.5.2;
/// DICOM: PS3.10 7.1, `DICM` after a 128-byte preamble).
public enum FileType: String, CaseIterable, Sendable {
    case jpeg, png, heic, webp, pdf, tiff, bmp, dicom

    /// The bytes `detect` needs to tell every type apart (DICOM's marker ends at 132).
    public static let headLength = 132

    /// The type `head` (a file's first bytes, at least `headLength` of them when the file is that
    /// long) begins as, or nil for anything else: SVG, HTML, scripts, archives, Office files,
    /// executables and whatever is not recognised.
    public static func detect(_ head: some Collection<UInt8>) -> FileType? {
        let b = Array(head.prefix(headLength))
        func starts(_ bytes: [UInt8], at offset: Int = 0) -> Bool {
            b.count >= offset + bytes.count && Array(b[offset..<(offset + bytes.count)]) == bytes
        }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(Array("RIFF".utf8)), starts(Array("WEBP".utf8), at: 8) { return .webp }
        if starts(Array("ftyp".utf8), at: 4), b.count >= 12,
           heifBrands.contains(String(decoding: b[8..<12], as: UTF8.self)) { return .heic }
        if starts(Array("%PDF-".utf8)) { return .pdf }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return .tiff }
        if starts(Array("DICM".utf8), at: 128) { return .dicom }
        // "BM" alone is two letters any text may begin with: the header's reserved words are zero
        // and its pixel offset lies past the 14-byte file header.
        if starts([0x42, 0x4D]), b.count >= 14, b[6...9].allSatisfy({ $0 == 0 }),
           BytesLE.u32(b, 10).map({ $0 >= 26 }) == true { return .bmp }
        return nil
    }

    /// The major brands of HEIF still images (an iPhone's photos are `heic`).
    static let heifBrands: Set<String> = ["heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"]

    /// The Content-Type a download of this type carries.
    public var mediaType: String {
        switch self {
        case .jpeg: "image/jpeg"
        case .png: "image/png"
        case .heic: "image/heic"
        case .webp: "image/webp"
        case .pdf: "application/pdf"
        case .tiff: "image/tiff"
        case .bmp: "image/bmp"
        case .dicom: "application/dicom"
        }
    }

    /// How the thread names it beside the file's name and size.
    public var label: String {
        switch self {
        case .jpeg: "JPEG image"
        case .png: "PNG image"
        case .heic: "HEIC image"
        case .webp: "WebP image"
        case .pdf: "PDF document"
        case .tiff: "TIFF image"
        case .bmp: "BMP image"
        case .dicom: "DICOM file"
        }
    }

    /// Images have a pixel size to check and metadata to remove; PDF and DICOM are documents.
    public var isImage: Bool { self != .pdf && self != .dicom }

    /// Who may send it: everyone, or staff only (TIFF, BMP and DICOM are what imaging software exports).
    public func isAllowed(forStaff staff: Bool) -> Bool {
        switch self {
        case .jpeg, .png, .heic, .webp, .pdf: true
        case .tiff, .bmp, .dicom: staff
        }
    }
}

/// Little- and big-endian reads that answer nil past the end instead of trapping.
enum BytesLE {
    static func u16(_ b: [UInt8], _ at: Int) -> Int? {
        guard at >= 0, at + 2 <= b.count else { return nil }
        return Int(b[at]) | Int(b[at + 1]) << 8
    }
    static func u24(_ b: [UInt8], _ at: Int) -> Int? {
        guard at >= 0, at + 3 <= b.count else { return nil }
        return Int(b[at]) | Int(b[at + 1]) << 8 | Int(b[at + 2]) << 16
    }
    static func u32(_ b: [UInt8], _ at: Int) -> Int? {
        guard at >= 0, at + 4 <= b.count else { return nil }
        return Int(b[at]) | Int(b[at + 1]) << 8 | Int(b[at + 2]) << 16 | Int(b[at + 3]) << 24
    }
}

enum BytesBE {
    static func u16(_ b: [UInt8], _ at: Int) -> Int? {
        guard at >= 0, at + 2 <= b.count else { return nil }
        return Int(b[at]) << 8 | Int(b[at + 1])
    }
    static func u32(_ b: [UInt8], _ at: Int) -> Int? {
        guard at >= 0, at + 4 <= b.count else { return nil }
        return Int(b[at]) << 24 | Int(b[at + 1]) << 16 | Int(b[at + 2]) << 8 | Int(b[at + 3])
    }
    static func u64(_ b: [UInt8], _ at: Int) -> Int? {
        guard let high = u32(b, at), let low = u32(b, at + 4), high < 0x8000_0000 else { return nil }
        return high << 32 | low
    }
}
