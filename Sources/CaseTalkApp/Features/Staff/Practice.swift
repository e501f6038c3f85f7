import CaseTalkCore
import Fluent
import Foundation

package final class Practice: Model, @unchecked Sendable {
    package static let schema = "practices"

    @ID(key: .id) package var id: UUID?
    @Field(key: "name") var name: String
    @Field(key: "created_at") var createdAt: Date
    /// The IANA zone its dates are shown in (SPEC §9: **Practice settings**).
    @Field(key: "time_zone") var timeZone: String

    package init() {}
    package init(name: String, createdAt: Date, timeZone: String = ShownZone.defaultIdentifier) {
        self.name = name
        self.createdAt = createdAt
        self.timeZone = timeZone
    }

    var zone: ShownZone { ShownZone(stored: timeZone) }
}
