import CaseTalkCore
import Testing

@Suite struct SegmentedSealTests {
    let key = SegmentedSeal.newKey()
    let segment = SegmentedSeal.segmentSize

    func seal(_ plaintext: [UInt8], key: [UInt8]? = nil, id: String = "file-1", variant: String = "original", piece: Int = 10_000) throws -> [UInt8] {
        var writer = SegmentedSeal.Writer(key: key ?? self.key, fileID: id, variant: variant)
        var stored: [UInt8] = []
        var at = 0
        while at < plaintext.count {
            let end = min(plaintext.count, at + piece)
            stored += try writer.feed(plaintext[at..<end])
            at = end
        }
        return stored + (try writer.finish())
    }

    func open(_ stored: [UInt8], key: [UInt8]? = nil, id: String = "file-1", variant: String = "original", piece: Int = 7_000,
              firstSegment: Int = 0) throws(SegmentedSeal.OpenError) -> [UInt8] {
        var reader = SegmentedSeal.Reader(key: key ?? self.key, fileID: id, variant: variant, firstSegment: firstSegment)
        var plaintext: [UInt8] = []
        var at = 0
        while at < stored.count {
            let end = min(stored.count, at + piece)
            plaintext += try reader.feed(stored[at..<end])
            at = end
        }
        return plaintext + (try reader.finish())
    }

    func bytes(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) } }

    @Test func everySizeGoesRoundAndIsStoredAsSegmentsWithTags() throws {
        for size in [0, 1, 100, segment - 1, segment, segment + 1, 2 * segment, 3 * segment + 12_345] {
            let plaintext = bytes(size)
            let stored = try seal(plaintext)
            #expect(stored.count == SegmentedSeal.storedSize(plaintext: size), "\(size)")
            #expect(try open(stored) == plaintext, "\(size)")
            for piece in [1_000, segment, segment + 16, 1 << 20] {
                #expect(try open(try seal(plaintext, piece: piece), piece: piece) == plaintext, "\(size) in pieces of \(piece)")
            }
        }
    }

    @Test func theStoredBytesRevealNothingOfThePlaintext() throws {
        let marker = Array("PATIENT-MARKER-7731".utf8)
        let plaintext = bytes(5000) + marker + bytes(200_000) + marker
        let stored = try seal(plaintext)
        let found = (0...(stored.count - marker.count)).contains { Array(stored[$0..<($0 + marker.count)]) == marker }
        #expect(!found)
        #expect(try seal(plaintext, key: SegmentedSeal.newKey()) != stored, "each file's own key")
    }

    @Test func anythingButTheStoredBytesUnderTheirOwnKeyAndNameFailsToOpen() throws {
        let plaintext = bytes(3 * segment + 500)
        let stored = try seal(plaintext)
        let stride = SegmentedSeal.storedSegmentSize
        #expect(throws: SegmentedSeal.OpenError.damaged) { try open(stored, key: SegmentedSeal.newKey()) }
        #expect(throws: SegmentedSeal.OpenError.damaged) { try open(stored, id: "file-2") }
        #expect(throws: SegmentedSeal.OpenError.damaged) { try open(stored, variant: "thumbnail") }
        var altered = stored
        altered[stride + 100] ^= 1
        #expect(throws: SegmentedSeal.OpenError.damaged) { try open(altered) }
        // Cut off at a segment boundary: the segment now last was not sealed as the last.
        #expect(throws: SegmentedSeal.OpenError.damaged) { try open(Array(stored.prefix(2 * stride))) }
        #expect(throws: SegmentedSeal.OpenError.damaged) { try open(Array(stored.dropLast(1))) }
        // Two segments swapped, or one dropped.
        let swapped = Array(stored[stride..<(2 * stride)]) + Array(stored[0..<stride]) + Array(stored[(2 * stride)...])
        #expect(throws: SegmentedSeal.OpenError.damaged) { try open(swapped) }
        #expect(throws: SegmentedSeal.OpenError.damaged) { try open(Array(stored[stride...])) }
        #expect(throws: SegmentedSeal.OpenError.damaged) { try open([]) }
    }

    @Test func aRangeIsReadFromItsSegmentOn() throws {
        let plaintext = bytes(4 * segment + 99)
        let stored = try seal(plaintext)
        let from = 2
        let tail = try open(Array(stored[(from * SegmentedSeal.storedSegmentSize)...]), firstSegment: from)
        #expect(tail == Array(plaintext[(from * segment)...]))
        // The same bytes read as if they were the first segment do not open.
        #expect(throws: SegmentedSeal.OpenError.damaged) { try open(Array(stored[(from * SegmentedSeal.storedSegmentSize)...])) }
    }
}
