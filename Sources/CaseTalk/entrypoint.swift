import CaseTalkApp

@main
enum Entrypoint {
    static func main() async throws {
        try await CaseTalkMain.run()
    }
}
