import Fluent
import Foundation

package final class Practice: Model, @unchecked Sendable {
    package static let schema = "practices"

    @ID(key: .id) package var id: UUID?
    @Field(key: "name") var name: String
    @Field(key: "created_at") var createdAt: Date

    package init() {}
    package init(name: String, createdAt: Date) {
        self.name = name
        self.createdAt = createdAt
    }
}
