import CaseTalkCore

/// The pieces of forms, each written once: the CSRF field, hidden values, error summaries and a
/// field with its label, hint, error and ARIA wiring.
public enum Form {
    /// The session's CSRF token, which every form post carries (see `CSRFMiddleware`).
    public static func csrf(_ token: String?) -> HTML {
        "<input type=\"hidden\" name=\"_csrf\" value=\"\(token ?? "")\">"
    }

    /// The page a sign-in returns to, carried through a form when there is one.
    public static func next(_ next: String?) -> HTML {
        next.map { "<input type=\"hidden\" name=\"next\" value=\"\($0)\">" } ?? HTML()
    }

    public static func hidden(_ name: StaticString, _ value: String) -> HTML {
        "<input type=\"hidden\" name=\"\(literal: name)\" value=\"\(value)\">"
    }

    /// One problem for the whole form, read out as it appears.
    public static func alert(_ message: String?) -> HTML {
        message.map { "<p class=\"error-summary\" role=\"alert\">\($0)</p>" } ?? HTML()
    }

    /// Several problems, listed (nothing when there are none).
    public static func summary(_ messages: [String], intro: String? = nil) -> HTML {
        guard !messages.isEmpty else { return HTML() }
        let lead: HTML = intro.map { "<p>\($0)</p>" } ?? HTML()
        return """
        <div class="error-summary" role="alert">
          \(lead)
          <ul>\(HTML.each(messages) { "<li>\($0)</li>" })</ul>
        </div>
        """
    }

    /// How a field shows its problem.
    public enum ErrorPlacement: Sendable {
        /// The message under the control, which names it with `aria-describedby`.
        case below
        /// The message above the control, read out as it appears (a message box).
        case alertAbove
        /// Only `aria-invalid`: the page's summary says what is wrong.
        case summaryOnly
    }

    /// A labelled control. `id` is also its name; a nil `value` leaves an input empty on every
    /// render (a code); `attributes` are the control's own (type,
    /// autocomplete, maxlength…), written as literals. A hint is tied to the control by
    /// `aria-describedby`, then the error, when there is one.
    public static func field(_ id: StaticString, label: HTML, value: String?, error: String?, hint: String? = nil,
                             placement: ErrorPlacement = .below, textarea: Bool = false, attributes: StaticString,
                             after: HTML = HTML()) -> HTML {
        let showsMessage = error != nil && placement != .summaryOnly
        var described = HTML()
        if hint != nil && showsMessage {
            described = " aria-describedby=\"\(literal: id)-hint \(literal: id)-error\""
        } else if hint != nil {
            described = " aria-describedby=\"\(literal: id)-hint\""
        } else if showsMessage {
            described = " aria-describedby=\"\(literal: id)-error\""
        }
        let valueAttribute: HTML = value.map { " value=\"\($0)\"" } ?? HTML()
        let invalid: HTML = error == nil ? HTML() : " aria-invalid=\"true\""
        let control: HTML = textarea
            ? "<textarea id=\"\(literal: id)\" name=\"\(literal: id)\" \(literal: attributes)\(invalid)\(described)>\(value ?? "")</textarea>"
            : "<input id=\"\(literal: id)\" name=\"\(literal: id)\" \(literal: attributes)\(valueAttribute)\(invalid)\(described)>"
        let hintLine: HTML = hint.map { "<p class=\"hint\" id=\"\(literal: id)-hint\">\($0)</p>" } ?? HTML()
        var message = HTML()
        if let error, placement == .below { message = "<p class=\"field-error\" id=\"\(literal: id)-error\">\(error)</p>" }
        var above = HTML()
        if let error, placement == .alertAbove {
            above = "<p class=\"field-error\" id=\"\(literal: id)-error\" role=\"alert\">\(error)</p>"
        }
        return """
        <div class="field">
          <label for="\(literal: id)">\(label)</label>
          \(hintLine)\(above)
          \(control)
          \(message)\(after)
        </div>
        """
    }

    /// The attributes of an email address field.
    public static let emailAttributes: StaticString =
        "type=\"text\" inputmode=\"email\" autocomplete=\"off\" autocapitalize=\"none\" spellcheck=\"false\" maxlength=\"254\""
}

/// Newer and older pages of a list.
public enum Pager {
    public static func links(newer: Paths?, older: Paths?, newerLabel: StaticString = "Newer", olderLabel: StaticString = "Older") -> HTML {
        let newerLink: HTML = newer.map { "<a href=\"\($0)\">\(literal: newerLabel)</a>" } ?? HTML()
        let olderLink: HTML = older.map { "<a href=\"\($0)\">\(literal: olderLabel)</a>" } ?? HTML()
        return "<nav class=\"pager\" aria-label=\"Pages\">\(newerLink)\(olderLink)</nav>"
    }
}
