import CaseTalkCore
import Foundation
import Testing

@Suite struct SigV4Tests {
    /// The example in Amazon S3's API reference ("Authenticating Requests: Using the Authorization
    /// Header", GET Object with a Range), with its published signature.
    @Test func amazonsPublishedExampleSignsTheSame() {
        let signer = SigV4(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")
        let authorization = signer.authorization(method: "GET", path: "/test.txt", headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"),
            ("x-amz-content-sha256", SigV4.emptyPayloadHash), ("x-amz-date", "20130524T000000Z"),
        ], payloadHash: SigV4.emptyPayloadHash)
        #expect(authorization == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(SigV4.emptyPayloadHash == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func eachPartOfTheRequestIsSigned() {
        let signer = SigV4(accessKeyID: "AKID", secretAccessKey: "secret", region: "eu-central-1")
        func sign(method: String = "PUT", path: String = "/bucket/a1b2", query: [(String, String)] = [],
                  host: String = "127.0.0.1:9000", payload: String = SigV4.payloadHash(Array("x".utf8)),
                  date: String = "20261203T101500Z", secret: SigV4? = nil) -> String {
            (secret ?? signer).authorization(method: method, path: path, query: query,
                                             headers: [("host", host), ("x-amz-content-sha256", payload), ("x-amz-date", date)],
                                             payloadHash: payload)
        }
        let base = sign()
        #expect(base.contains("Credential=AKID/20261203/eu-central-1/s3/aws4_request"))
        for changed in [sign(method: "GET"), sign(path: "/bucket/a1b3"), sign(query: [("uploads", "")]), sign(host: "127.0.0.1:9001"),
                        sign(payload: SigV4.payloadHash(Array("y".utf8))), sign(date: "20261203T101501Z"),
                        sign(secret: SigV4(accessKeyID: "AKID", secretAccessKey: "other", region: "eu-central-1"))] {
            #expect(changed != base)
        }
        // Query order does not matter; its values are compared as encoded.
        #expect(sign(query: [("b", "2"), ("a", "1")]) == sign(query: [("a", "1"), ("b", "2")]))
    }

    @Test func partsAreEncodedAsSigV4WantsThem() {
        #expect(SigV4.encode("a b/c~d_e-f.g*") == "a%20b%2Fc~d_e-f.g%2A")
        #expect(SigV4.encode("folder/file name", keepingSlashes: true) == "folder/file%20name")
        #expect(SigV4.encode("ä") == "%C3%A4")
        #expect(SigV4.amzDate(Date(timeIntervalSince1970: 1_369_353_600)) == "20130524T000000Z")
    }
}
