import CaseTalkApp
import Foundation

/// `casetalk-bench`: what bench/ needs beside the product, linked only here (a production
/// `casetalk` has none of it).
///     casetalk-bench seed --manifest FILE     the load-test data set, into an empty database
///     casetalk-bench hash [--count N]         times the production password hash
///     casetalk-bench render [batches]         the typed views alone, no server
/// Every other argument runs as `casetalk` would (`casetalk-bench serve` is the product's serve).
@main
enum BenchMain {
    static func main() async throws {
        let arguments = CommandLine.arguments.dropFirst()
        if arguments.first == "render" {
            RenderBench.run(batches: arguments.dropFirst().first.flatMap(Int.init) ?? 15)
            return
        }
        try await CaseTalkMain.run(extraCommands: ["seed": BenchSeedCommand(), "hash": BenchHashCommand()])
    }
}
