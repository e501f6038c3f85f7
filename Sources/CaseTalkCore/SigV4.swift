import Crypto
import Foundation

/// AWS Signature Version 4 for requests to an S3-compatible store (SPEC §8, `ATTACHMENT_STORE=s3://…`),
/// as AWS's "Signature Version 4 signing process" lays it out: a canonical request (method, path,
/// sorted query, lower-cased sorted headers, the payload's SHA-256), hashed into a string to sign
/// for the day, region and service, signed with a key derived from the secret by an HMAC-SHA256
/// chain. Every request names its payload's hash (`x-amz-content-sha256`), so the store
/// refuses a body changed on the way.
public struct SigV4: Sendable {
    public let accessKeyID: String
    private let secret: String
    public let region: String
    public let service: String

    public init(accessKeyID: String, secretAccessKey: String, region: String, service: String = "s3") {
        self.accessKeyID = accessKeyID
        secret = secretAccessKey
        self.region = region
        self.service = service
    }

    /// The hash of an empty payload.
    public static let emptyPayloadHash = Digest.hex(SHA256.hash(data: [UInt8]()))

    public static func payloadHash(_ body: some Sequence<UInt8>) -> String { Digest.hex(SHA256.hash(data: Array(body))) }

    /// `x-amz-date`'s form of `date`: `20130524T000000Z`.
    public static func amzDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ v: Int?) -> String { let v = v ?? 0; return v < 10 ? "0\(v)" : "\(v)" }
        return "\(c.year ?? 0)\(two(c.month))\(two(c.day))T\(two(c.hour))\(two(c.minute))\(two(c.second))Z"
    }

    /// The `Authorization` header for a request. `path` is the request's path as sent (its parts
    /// already percent-encoded once), `headers` every header to sign: at least `host`,
    /// `x-amz-date` (as `amzDate` gives it) and `x-amz-content-sha256`.
    public func authorization(method: String, path: String, query: [(String, String)] = [], headers: [(String, String)],
                              payloadHash: String) -> String {
        let canonicalHeaders = headers.map { (name: $0.0.lowercased(), value: Self.trim($0.1)) }.sorted { $0.name < $1.name }
        let signedHeaders = canonicalHeaders.map(\.name).joined(separator: ";")
        let amzDate = canonicalHeaders.first { $0.name == "x-amz-date" }?.value ?? ""
        let day = String(amzDate.prefix(8))
        let encoded: [(name: String, value: String)] = query.map { (Self.encode($0.0), Self.encode($0.1)) }
        let sortedQuery = encoded.sorted { (a, b) -> Bool in a.name == b.name ? a.value < b.value : a.name < b.name }
        let canonicalQuery = sortedQuery.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        let canonicalRequest = [method, path.isEmpty ? "/" : path, canonicalQuery,
                                canonicalHeaders.map { "\($0.name):\($0.value)\n" }.joined(), signedHeaders, payloadHash]
            .joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let toSign = ["AWS4-HMAC-SHA256", amzDate, scope, Digest.hex(SHA256.hash(data: Array(canonicalRequest.utf8)))].joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(secret)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = Digest.hex(HMAC<SHA256>.authenticationCode(for: Array(toSign.utf8), using: key))
        return "AWS4-HMAC-SHA256 Credential=\(accessKeyID)/\(scope),SignedHeaders=\(signedHeaders),Signature=\(signature)"
    }

    /// A path or query part percent-encoded as SigV4 wants it: everything but the unreserved
    /// characters (RFC 3986 2.3), in upper-case hex.
    public static func encode(_ text: String, keepingSlashes: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepingSlashes:
                out += "/"
            default:
                let digits = Array("0123456789ABCDEF".unicodeScalars)
                out += "%"
                out.unicodeScalars.append(digits[Int(byte >> 4)])
                out.unicodeScalars.append(digits[Int(byte & 0x0F)])
            }
        }
        return out
    }

    /// A header value with its ends trimmed and inner runs of spaces made one.
    static func trim(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}
