// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "casetalk",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "casetalk", targets: ["CaseTalk"]),
        .executable(name: "casetalk-bench", targets: ["CaseTalkBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
        .package(url: "https://github.com/vapor/fluent.git", from: "4.13.0"),
        .package(url: "https://github.com/vapor/fluent-sqlite-driver.git", from: "4.9.0"),
        .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.14.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "4.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        .target(
            name: "CaseTalkCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),
        // Pages and emails as typed Swift views (issue 17): Core only, so a view cannot query anything.
        .target(
            name: "CaseTalkViews",
            dependencies: ["CaseTalkCore"]
        ),
        .target(
            name: "CaseTalkApp",
            dependencies: [
                "CaseTalkCore",
                "CaseTalkViews",
                .product(name: "Vapor", package: "vapor"),
                .product(name: "Fluent", package: "fluent"),
                .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                // The S3 store's requests: streamed answers, which Vapor's Client does not give.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(
            name: "CaseTalk",
            dependencies: ["CaseTalkApp", .product(name: "Vapor", package: "vapor"), .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio")]
        ),
        // The benchmark's fixtures and commands (bench/): linked only into casetalk-bench, never
        // into casetalk. They use the models' designated initializers, which are `package` for it.
        .executableTarget(
            name: "CaseTalkBench",
            dependencies: ["CaseTalkApp", "CaseTalkCore", "CaseTalkViews", .product(name: "Vapor", package: "vapor"),
                           .product(name: "Fluent", package: "fluent")]
        ),
        .testTarget(
            name: "CaseTalkCoreTests",
            dependencies: ["CaseTalkCore"]
        ),
        .testTarget(
            name: "CaseTalkViewsTests",
            dependencies: ["CaseTalkViews"]
        ),
        .testTarget(
            name: "CaseTalkAppTests",
            dependencies: [
                "CaseTalkApp",
                "CaseTalkViews",
                .product(name: "VaporTesting", package: "vapor"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            // Files the tests read by path (a phone photo with GPS, device and owner fields).
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
