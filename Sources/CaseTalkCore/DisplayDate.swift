/// Dates as pages show them: "Nov 18, 2026 at 10:13 PM UTC", the text Foundation's
/// `Date.FormatStyle(date: .abbreviated, time: .shortened)` gives in en_US_POSIX and UTC (with
/// its narrow no-break space before AM/PM), worked out directly: formatting through Foundation
/// was a twentieth of a 50-message thread page.
public enum DisplayDate {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `secondsSince1970` in UTC, to the minute (seconds are dropped, as the style does).
    public static func utc(secondsSince1970: Double) -> String {
        let seconds = Int64(secondsSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let minuteOfDay = Int((seconds - days * 86_400) / 60)
        let (year, month, day) = civil(daysSince1970: days)
        return wallClock(year: year, month: month, day: day, hour: minuteOfDay / 60, minute: minuteOfDay % 60) + " UTC"
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
