import Foundation

/// Dates as pages show them: "Nov 18, 2026 at 10:13 PM UTC", the text Foundation's
/// `Date.FormatStyle(date: .abbreviated, time: .shortened)` gives in en_US_POSIX and UTC (with
/// its narrow no-break space before AM/PM), worked out directly: formatting through Foundation
/// was a twentieth of a 50-message thread page.
public enum DisplayDate {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `secondsSince1970` in UTC, to the minute (seconds are dropped, as the style does).
    public static func utc(secondsSince1970: Double) -> String {
        wallClock(secondsSince1970: secondsSince1970, offset: 0) + " UTC"
    }

    /// The wall clock `offset` seconds east of UTC at `secondsSince1970`, without a zone.
    static func wallClock(secondsSince1970: Double, offset: Int) -> String {
        let seconds = Int64(secondsSince1970.rounded(.down)) + Int64(offset)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let minuteOfDay = Int((seconds - days * 86_400) / 60)
        let (year, month, day) = civil(daysSince1970: days)
        return wallClock(year: year, month: month, day: day, hour: minuteOfDay / 60, minute: minuteOfDay % 60)
    }

    /// A clock's reading in the same style, without a zone: "Nov 30, 2026 at 2:05 PM".
    public static func wallClock(year: Int64, month: Int, day: Int, hour hour24: Int, minute: Int) -> String {
        let hour12 = hour24 % 12 == 0 ? 12 : hour24 % 12
        let twoDigitMinute = minute < 10 ? "0\(minute)" : "\(minute)"
        return "\(months[month - 1]) \(day), \(year) at \(hour12):\(twoDigitMinute)\u{202F}\(hour24 < 12 ? "AM" : "PM")"
    }

    /// The proleptic Gregorian date of a day count (Howard Hinnant's civil-from-days algorithm).
    static func civil(daysSince1970 days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shifted = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * shifted + 2) / 5 + 1)
        let month = Int(shifted < 10 ? shifted + 3 : shifted - 9)
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// A practice's **Time zone** (SPEC §9): an IANA zone, in which every date of the practice is
/// shown, with the zone's abbreviation at that date ("EST", "EDT").
public struct ShownZone: Sendable, Equatable {
    public static let defaultIdentifier = "America/New_York"
    public let identifier: String
    private let zone: TimeZone

    /// A zone by its IANA name; nil when the system does not know it.
    public init?(identifier: String) {
        guard let zone = TimeZone(identifier: identifier) else { return nil }
        self.identifier = identifier
        self.zone = zone
    }

    /// Whether `identifier` is one of the IANA zones the system lists: what the settings accept
    /// (not an abbreviation such as "EST", nor an offset).
    public static func isListed(_ identifier: String) -> Bool {
        TimeZone.knownTimeZoneIdentifiers.contains(identifier) && TimeZone(identifier: identifier) != nil
    }

    /// A stored zone, or UTC when the system no longer knows it (dates stay readable, labelled).
    public init(stored identifier: String) {
        self = ShownZone(identifier: identifier) ?? .utc
    }

    public static let utc = ShownZone(utcZone: ())
    private init(utcZone _: Void) { identifier = "UTC"; zone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0)! }

    /// "Dec 7, 2026 at 6:21 PM EST".
    public func display(_ date: Date) -> String {
        let offset = zone.secondsFromGMT(for: date)
        return DisplayDate.wallClock(secondsSince1970: date.timeIntervalSince1970, offset: offset) + " " + abbreviation(date, offset: offset)
    }

    /// The zone's English abbreviation at `date` ("EST", "EDT"); a zone without one (most outside
    /// North America, in the system's English names) is labelled by its offset: "UTC+1", "UTC+5:30".
    private func abbreviation(_ date: Date, offset: Int) -> String {
        if identifier == "UTC" { return "UTC" }
        let style: NSTimeZone.NameStyle = zone.isDaylightSavingTime(for: date) ? .shortDaylightSaving : .shortStandard
        if let name = zone.localizedName(for: style, locale: Self.english), !name.hasPrefix("GMT"), !name.hasPrefix("UTC") { return name }
        guard offset != 0 else { return "UTC" }
        let hours = abs(offset) / 3600, minutes = abs(offset) % 3600 / 60
        return "UTC" + (offset < 0 ? "\u{2212}" : "+") + "\(hours)" + (minutes == 0 ? "" : ":" + (minutes < 10 ? "0\(minutes)" : "\(minutes)"))
    }

    private static let english = Locale(identifier: "en_US")

    /// Every zone the system knows, for the settings' list.
    public static var all: [String] { TimeZone.knownTimeZoneIdentifiers.sorted() }
}
