/// What may be attached to one message, by whom (SPEC §8), and the exact words for what may not.
public struct AttachmentLimits: Sendable, Equatable {
    /// The largest file, in bytes.
    public let maxFileBytes: Int
    /// The most files on one message.
    public let maxFiles: Int
    /// The most files one person may send in 24 hours (patients), or nil.
    public let maxPerDay: Int?
    /// Whether TIFF, BMP and DICOM are allowed (staff).
    public let staff: Bool

    /// Sizes are counted as phones and Macs show them: 1 MB is 1,000,000 bytes, so a photo the
    /// phone calls 19.8 MB is 19.8 MB here too.
    public static let megabyte = 1_000_000

    public static let patient = AttachmentLimits(maxFileBytes: 20 * megabyte, maxFiles: 10, maxPerDay: 30, staff: false)

    /// Staff's limits; `maxMegabytes` is `ATTACHMENT_MAX_STAFF_MB` (1–500, default 100).
    public static func staff(maxMegabytes: Int = 100) -> AttachmentLimits {
        AttachmentLimits(maxFileBytes: min(max(maxMegabytes, 1), 500) * megabyte, maxFiles: 20, maxPerDay: nil, staff: true)
    }

    /// The same limits for one file sent on its own, ahead of its message.
    public var oneFile: AttachmentLimits {
        AttachmentLimits(maxFileBytes: maxFileBytes, maxFiles: 1, maxPerDay: maxPerDay, staff: staff)
    }

    /// At most this many pixels a side, and this many in all, read from the header before decoding.
    public static let maxSide = 20_000
    public static let maxPixels = 100_000_000

    /// Why a file of `type` (nil: not recognised) cannot be sent, or nil.
    public func typeProblem(_ type: FileType?) -> String? {
        guard let type, type.isAllowed(forStaff: staff) else { return Self.wrongTypeMessage(staff: staff) }
        return nil
    }

    /// Why a file of `bytes` cannot be sent, or nil. Called as bytes arrive, so an upload stops
    /// at the limit.
    public func sizeProblem(bytes: Int) -> String? {
        if bytes > maxFileBytes { return Self.tooLargeMessage(size: bytes, limit: maxFileBytes) }
        return nil
    }

    /// Why this many files on one message are too many, or nil.
    public func countProblem(files: Int) -> String? {
        files > maxFiles ? Self.tooManyMessage(limit: maxFiles) : nil
    }

    public static func tooManyMessage(limit: Int) -> String {
        limit == 1 ? "Send one file at a time." : "You can attach at most \(limit) files to one message."
    }

    /// SPEC §8 gives the limit, not the words: these say what happened and what to do.
    public static func perDayMessage(limit: Int) -> String {
        "You can send at most \(limit) files in 24 hours. Nothing was sent; please send these files later."
    }

    /// Why an image of this size is refused (a side over 20,000 px, or over 100 megapixels), or nil.
    /// SPEC §8 has one message for both: the sides are what a person can check.
    public static func pixelProblem(_ size: PixelSize) -> String? {
        size.width > maxSide || size.height > maxSide || size.pixels > maxPixels ? imageTooLargeMessage : nil
    }

    // MARK: Messages (SPEC §8, exact)

    /// The file's size rounded up, so that a file just over the limit never reads as the limit.
    public static func tooLargeMessage(size: Int, limit: Int) -> String {
        "This file is \(display(bytes: size, roundingUp: true)); the limit is \(display(bytes: limit))."
    }

    public static func wrongTypeMessage(staff: Bool) -> String {
        staff
            ? "This type of file can't be sent. You can send photos (JPEG, PNG, HEIC, WebP), PDF documents, TIFF, BMP and DICOM."
            : "This type of file can't be sent. You can send photos (JPEG, PNG, HEIC, WebP) and PDF documents."
    }

    public static let imageTooLargeMessage = "This image is too large (at most 20,000 pixels a side)."
    public static let emptyOrDamagedMessage = "This file is empty or damaged."
    public static let failedCheckMessage = "This file didn't pass our security check."

    /// A size as the thread shows it: "850 KB", "2.4 MB", "20 MB" (one decimal, none when whole;
    /// never "0 KB" for a file with bytes in it).
    public static func display(bytes: Int, roundingUp: Bool = false) -> String {
        let kilobytes = (bytes + 999) / 1000
        if kilobytes < 1000 { return "\(kilobytes) KB" }
        let tenths = (bytes * 10 + (roundingUp ? megabyte - 1 : megabyte / 2)) / megabyte
        return tenths % 10 == 0 ? "\(tenths / 10) MB" : "\(tenths / 10).\(tenths % 10) MB"
    }
}

/// An attached file's name as people see it: its last path part only, without control, bidi or
/// invisible formatting characters (which can make `invoice‮fdp.exe` read as `invoiceexe.pdf`),
/// trimmed, and at most 100 characters with its extension kept. Stored sealed; never part of a
/// path or a storage key.
public enum FileName {
    public static let maxLength = 100

    public static func clean(_ raw: String) -> String {
        let last = raw.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var scalars = String.UnicodeScalarView()
        for scalar in last.unicodeScalars where !isHidden(scalar) { scalars.append(scalar) }
        var name = String(scalars).trimming(" .")
        if name.count > maxLength {
            let dot = name.lastIndex(of: ".")
            let ext = dot.map { String(name[$0...]) }.flatMap { $0.count <= 10 ? $0 : nil } ?? ""
            name = String(name.prefix(maxLength - ext.count)).trimming(" .") + ext
        }
        return name.isEmpty ? "file" : name
    }

    /// A cleaned name with the ending of `type` in place of its own ("IMG_0042.HEIC" becomes
    /// "IMG_0042.jpg" once the image tool made it a JPEG); an ending is what follows the last dot
    /// when that is at most ten characters.
    public static func replacingExtension(of name: String, with type: FileType) -> String {
        let ending = switch type {
        case .jpeg: "jpg"
        case .png: "png"
        case .webp: "webp"
        case .heic: "heic"
        case .pdf: "pdf"
        case .tiff: "tif"
        case .bmp: "bmp"
        case .dicom: "dcm"
        }
        var stem = Substring(name)
        if let dot = name.lastIndex(of: "."), dot > name.startIndex, name.distance(from: dot, to: name.endIndex) <= 11 {
            stem = name[..<dot]
        }
        return clean(String(stem.prefix(maxLength - ending.count - 1)) + "." + ending)
    }

    /// Control characters (C0, DEL, C1), bidi embeddings, overrides, isolates and marks, and the
    /// zero-width and other invisible format characters.
    static func isHidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x061C, 0x200B...0x200F, 0x202A...0x202E, 0x2060...0x2069, 0xFEFF: true
        default: scalar.properties.generalCategory == .format
        }
    }
}

private extension String {
    /// Without these characters at either end.
    func trimming(_ set: String) -> String {
        let drop = Set(set)
        guard let start = firstIndex(where: { !drop.contains($0) }), let end = lastIndex(where: { !drop.contains($0) }) else { return "" }
        return String(self[start...end])
    }
}
