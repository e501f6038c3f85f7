/// A QR code (ISO/IEC 18004, model 2) for the two-step set-up page: byte mode, error correction
/// level M, versions 1 to 19 (up to 336 bytes, more than any `otpauth://` URI needs), with the
/// mask chosen by the standard's penalty rules. Drawn by the server as SVG (`svgPath`), so no
/// script and no third party sees the key.
public struct QRCode: Sendable {
    /// Modules per side.
    public let size: Int
    /// Row-major; true is dark.
    public let modules: [Bool]

    public enum Failure: Error { case tooLong }

    public func isDark(x: Int, y: Int) -> Bool { modules[y * size + x] }

    /// Level M, per version 1...19: error correction codewords per block, and blocks
    /// (ISO/IEC 18004 Table 9).
    static let eccPerBlock = [10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26]
    static let blocks = [1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14]
    static let maxVersion = 19

    public init(bytes: [UInt8]) throws {
        guard let version = (1...Self.maxVersion).first(where: { Self.dataCapacity($0) >= Self.dataBits(bytes.count, $0) }) else {
            throw Failure.tooLong
        }
        var grid = Grid(version: version)
        grid.drawFunctionPatterns()
        let codewords = Self.interleaved(Self.dataCodewords(bytes, version: version), version: version)
        grid.placeData(codewords)
        var best: Grid?
        var bestPenalty = Int.max
        for mask in 0..<8 {
            var candidate = grid
            candidate.applyMask(mask)
            candidate.drawFormat(mask: mask)
            let penalty = candidate.penalty()
            if penalty < bestPenalty { best = candidate; bestPenalty = penalty }
        }
        size = grid.size
        modules = best!.dark
    }

    public init(_ text: String) throws { try self.init(bytes: Array(text.utf8)) }

    /// The side of the drawing in modules, with the four-module quiet zone on every side.
    public var sideWithQuietZone: Int { size + 8 }

    /// The dark modules as one SVG path of unit squares, inside the quiet zone: with
    /// `sideWithQuietZone`, everything a page needs to draw the symbol (no raw HTML).
    public var svgPath: String {
        var path = ""
        for y in 0..<size {
            for x in 0..<size where isDark(x: x, y: y) { path += "M\(x + 4) \(y + 4)h1v1h-1z" }
        }
        return path
    }

    // MARK: Data

    static func rawDataModules(_ version: Int) -> Int {
        var result = (16 * version + 128) * version + 64
        if version >= 2 {
            let alignments = version / 7 + 2
            result -= (25 * alignments - 10) * alignments - 55
            if version >= 7 { result -= 36 }
        }
        return result
    }

    static func dataCapacity(_ version: Int) -> Int {
        (rawDataModules(version) / 8 - eccPerBlock[version - 1] * blocks[version - 1]) * 8
    }

    static func dataBits(_ count: Int, _ version: Int) -> Int { 4 + (version < 10 ? 8 : 16) + 8 * count }

    static func dataCodewords(_ bytes: [UInt8], version: Int) -> [UInt8] {
        var bits: [Bool] = []
        func append(_ value: Int, _ length: Int) {
            for shift in stride(from: length - 1, through: 0, by: -1) { bits.append((value >> shift) & 1 == 1) }
        }
        append(0b0100, 4)
        append(bytes.count, version < 10 ? 8 : 16)
        for byte in bytes { append(Int(byte), 8) }
        let capacity = dataCapacity(version)
        append(0, min(4, capacity - bits.count))
        append(0, (8 - bits.count % 8) % 8)
        var pad = true
        while bits.count < capacity { append(pad ? 0xEC : 0x11, 8); pad.toggle() }
        return stride(from: 0, to: bits.count, by: 8).map { start in
            bits[start..<start + 8].reduce(UInt8(0)) { ($0 << 1) | ($1 ? 1 : 0) }
        }
    }

    /// Splits the data into the version's blocks (the shorter ones first), adds each block's
    /// Reed-Solomon codewords, and interleaves them column by column.
    static func interleaved(_ data: [UInt8], version: Int) -> [UInt8] {
        let blockCount = blocks[version - 1]
        let ecc = eccPerBlock[version - 1]
        let total = rawDataModules(version) / 8
        let shortBlocks = blockCount - total % blockCount
        let shortLength = total / blockCount - ecc
        let divisor = ReedSolomon.generator(degree: ecc)
        var dataBlocks: [[UInt8]] = []
        var eccBlocks: [[UInt8]] = []
        var start = 0
        for index in 0..<blockCount {
            let length = shortLength + (index < shortBlocks ? 0 : 1)
            let block = Array(data[start..<start + length])
            start += length
            dataBlocks.append(block)
            eccBlocks.append(ReedSolomon.remainder(block, divisor))
        }
        var out: [UInt8] = []
        for column in 0...shortLength {
            for block in dataBlocks where column < block.count { out.append(block[column]) }
        }
        for column in 0..<ecc {
            for block in eccBlocks { out.append(block[column]) }
        }
        return out
    }

    // MARK: Version information

    /// The 18 bits of version information (versions 7 and up): the version and its BCH(18,6) check.
    static func versionBits(_ version: Int) -> Int {
        var remainder = version
        for _ in 0..<12 { remainder = (remainder << 1) ^ ((remainder >> 11) * 0x1F25) }
        return version << 12 | remainder
    }

    /// The 15 bits of format information for level M (indicator 00) and `mask`: BCH(15,5), then
    /// the standard's XOR mask.
    static func formatBits(mask: Int) -> Int {
        let data = (0b00 << 3) | mask
        var remainder = data
        for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
        return ((data << 10) | remainder) ^ 0x5412
    }
}

/// Reed-Solomon over GF(256) with the QR code's polynomial x⁸+x⁴+x³+x²+1.
enum ReedSolomon {
    static func multiply(_ x: UInt8, _ y: UInt8) -> UInt8 {
        var result = 0
        for bit in stride(from: 7, through: 0, by: -1) {
            result = (result << 1) ^ ((result >> 7) * 0x11D)
            if (Int(y) >> bit) & 1 == 1 { result ^= Int(x) }
        }
        return UInt8(result & 0xFF)
    }

    /// The generator (x - α⁰)(x - α¹)…(x - α^(degree-1)), highest power first, leading 1 left out.
    static func generator(degree: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: degree)
        result[degree - 1] = 1
        var root: UInt8 = 1
        for _ in 0..<degree {
            for index in 0..<degree {
                result[index] = multiply(result[index], root)
                if index + 1 < degree { result[index] ^= result[index + 1] }
            }
            root = multiply(root, 0x02)
        }
        return result
    }

    static func remainder(_ data: [UInt8], _ divisor: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: divisor.count)
        for byte in data {
            let factor = byte ^ result.removeFirst()
            result.append(0)
            for index in divisor.indices { result[index] ^= multiply(divisor[index], factor) }
        }
        return result
    }
}

/// The module grid while a symbol is drawn: which modules are dark, and which belong to function
/// patterns (never masked, never data).
private struct Grid {
    let version: Int
    let size: Int
    var dark: [Bool]
    var reserved: [Bool]

    init(version: Int) {
        self.version = version
        size = version * 4 + 17
        dark = Array(repeating: false, count: size * size)
        reserved = Array(repeating: false, count: size * size)
    }

    mutating func set(_ x: Int, _ y: Int, _ value: Bool) {
        dark[y * size + x] = value
        reserved[y * size + x] = true
    }

    mutating func drawFunctionPatterns() {
        for i in 0..<size {
            set(6, i, i % 2 == 0)
            set(i, 6, i % 2 == 0)
        }
        drawFinder(3, 3)
        drawFinder(size - 4, 3)
        drawFinder(3, size - 4)
        let centers = alignmentCenters()
        for cy in centers {
            for cx in centers {
                let nearFinder = (cx == 6 && cy == 6) || (cx == 6 && cy == size - 7) || (cx == size - 7 && cy == 6)
                if !nearFinder { drawAlignment(cx, cy) }
            }
        }
        // Reserve the format areas now (drawn for real once the mask is known) and the dark module.
        drawFormatBits(0)
        set(8, size - 8, true)
        if version >= 7 {
            let bits = QRCode.versionBits(version)
            for i in 0..<18 {
                let bit = (bits >> i) & 1 == 1
                let a = size - 11 + i % 3, b = i / 3
                set(a, b, bit)
                set(b, a, bit)
            }
        }
    }

    mutating func drawFinder(_ cx: Int, _ cy: Int) {
        for dy in -4...4 {
            for dx in -4...4 {
                let x = cx + dx, y = cy + dy
                guard (0..<size).contains(x), (0..<size).contains(y) else { continue }
                let distance = max(abs(dx), abs(dy))
                set(x, y, distance != 2 && distance != 4)
            }
        }
    }

    mutating func drawAlignment(_ cx: Int, _ cy: Int) {
        for dy in -2...2 {
            for dx in -2...2 { set(cx + dx, cy + dy, max(abs(dx), abs(dy)) != 1) }
        }
    }

    func alignmentCenters() -> [Int] {
        guard version > 1 else { return [] }
        let count = version / 7 + 2
        let step = (version * 4 + count * 2 + 1) / (count * 2 - 2) * 2
        var result = [6]
        var position = size - 7
        var rest: [Int] = []
        for _ in 0..<(count - 1) { rest.insert(position, at: 0); position -= step }
        result += rest
        return result
    }

    mutating func drawFormat(mask: Int) { drawFormatBits(QRCode.formatBits(mask: mask)) }

    /// Both copies of the format information: around the top-left finder, and split between the
    /// bottom-left and top-right ones.
    mutating func drawFormatBits(_ bits: Int) {
        func bit(_ i: Int) -> Bool { (bits >> i) & 1 == 1 }
        for i in 0...5 { set(8, i, bit(i)) }
        set(8, 7, bit(6))
        set(8, 8, bit(7))
        set(7, 8, bit(8))
        for i in 9..<15 { set(14 - i, 8, bit(i)) }
        for i in 0..<8 { set(size - 1 - i, 8, bit(i)) }
        for i in 8..<15 { set(8, size - 15 + i, bit(i)) }
        set(8, size - 8, true)
    }

    /// The codewords' bits in the standard's zigzag: two-module columns from the right, upward
    /// then downward, skipping the vertical timing pattern.
    mutating func placeData(_ codewords: [UInt8]) {
        var index = 0
        let totalBits = codewords.count * 8
        var right = size - 1
        while right >= 1 {
            if right == 6 { right = 5 }
            for vertical in 0..<size {
                for column in 0..<2 {
                    let x = right - column
                    let upward = (right + 1) & 2 == 0
                    let y = upward ? size - 1 - vertical : vertical
                    guard !reserved[y * size + x] else { continue }
                    if index < totalBits {
                        dark[y * size + x] = (codewords[index >> 3] >> (7 - (index & 7))) & 1 == 1
                        index += 1
                    }
                }
            }
            right -= 2
        }
    }

    mutating func applyMask(_ mask: Int) {
        for y in 0..<size {
            for x in 0..<size where !reserved[y * size + x] {
                let flip: Bool = switch mask {
                case 0: (x + y) % 2 == 0
                case 1: y % 2 == 0
                case 2: x % 3 == 0
                case 3: (x + y) % 3 == 0
                case 4: (x / 3 + y / 2) % 2 == 0
                case 5: x * y % 2 + x * y % 3 == 0
                case 6: (x * y % 2 + x * y % 3) % 2 == 0
                default: ((x + y) % 2 + x * y % 3) % 2 == 0
                }
                if flip { dark[y * size + x].toggle() }
            }
        }
    }

    /// The four penalty rules of ISO/IEC 18004 §7.8.3: runs of five or more, 2×2 blocks,
    /// finder-like patterns, and the balance of dark and light.
    func penalty() -> Int {
        var total = 0
        func module(_ x: Int, _ y: Int) -> Bool { dark[y * size + x] }
        for horizontal in [true, false] {
            for line in 0..<size {
                var run = 0
                var previous: Bool?
                var sequence: [Bool] = []
                for position in 0..<size {
                    let value = horizontal ? module(position, line) : module(line, position)
                    if value == previous { run += 1 } else {
                        if run >= 5 { total += run - 2 }
                        run = 1
                        previous = value
                    }
                    sequence.append(value)
                }
                if run >= 5 { total += run - 2 }
                total += 40 * Self.finderLikeCount(sequence)
            }
        }
        for y in 0..<(size - 1) {
            for x in 0..<(size - 1) {
                let value = module(x, y)
                if value == module(x + 1, y) && value == module(x, y + 1) && value == module(x + 1, y + 1) { total += 3 }
            }
        }
        let darkCount = dark.filter { $0 }.count
        let percent = darkCount * 100 / (size * size)
        total += abs(percent - 50) / 5 * 10
        return total
    }

    /// Occurrences of 1:1:3:1:1 dark-light with four light modules on one side, in a line padded
    /// with light modules (the quiet zone).
    static func finderLikeCount(_ line: [Bool]) -> Int {
        let padded = Array(repeating: false, count: 4) + line + Array(repeating: false, count: 4)
        let core: [Bool] = [true, false, true, true, true, false, true]
        let light = [Bool](repeating: false, count: 4)
        var count = 0
        guard padded.count >= 11 else { return 0 }
        for start in 0...(padded.count - 11) {
            let window = Array(padded[start..<start + 11])
            if Array(window[0..<7]) == core && Array(window[7..<11]) == light { count += 1 }
            if Array(window[0..<4]) == light && Array(window[4..<11]) == core { count += 1 }
        }
        return count
    }
}
