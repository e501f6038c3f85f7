import Fluent
import Foundation

final class Practice: Model, @unchecked Sendable {
    static let schema = "practices"

    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    @Field(key: "created_at") var createdAt: Date

    init() {}
    init(name: String, createdAt: Date) {
        self.name = name
        self.createdAt = createdAt
    }
}
