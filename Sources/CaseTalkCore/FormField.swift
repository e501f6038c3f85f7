/// One field of an `application/x-www-form-urlencoded` body, found without decoding the rest:
/// the CSRF check runs on every form post, and decoding the whole form for one field cost more
/// than the rest of the check (the handler decodes the form it needs anyway).
public enum FormField {
    /// The first value named `name` in `body`, `+` and percent escapes decoded; nil when the field
    /// is missing or its value is not valid percent-encoded UTF-8.
    public static func first(named name: String, in body: some Collection<UInt8>) -> String? {
        let key = Array(name.utf8)
        var fieldStart = body.startIndex
        while fieldStart < body.endIndex {
            let fieldEnd = body[fieldStart...].firstIndex(of: UInt8(ascii: "&")) ?? body.endIndex
            let field = body[fieldStart..<fieldEnd]
            if let equals = field.firstIndex(of: UInt8(ascii: "=")), field[fieldStart..<equals].elementsEqual(key) {
                return decode(field[body.index(after: equals)...])
            }
            fieldStart = fieldEnd < body.endIndex ? body.index(after: fieldEnd) : body.endIndex
        }
        return nil
    }

    private static func decode(_ value: some Collection<UInt8>) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.count)
        var index = value.startIndex
        while index < value.endIndex {
            let byte = value[index]
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%") {
                let high = value.index(after: index)
                guard high < value.endIndex else { return nil }
                let low = value.index(after: high)
                guard low < value.endIndex, let h = hexValue(value[high]), let l = hexValue(value[low]) else { return nil }
                bytes.append(h << 4 | l)
                index = low
            } else {
                bytes.append(byte)
            }
            index = value.index(after: index)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
