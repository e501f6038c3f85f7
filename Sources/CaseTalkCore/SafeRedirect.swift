/// Where a person may be sent after signing in: only this application's own relative paths
/// (SPEC §4). Anything that a browser could read as another origin is refused.
public enum SafeRedirect {
    public static func validate(_ raw: String?) -> String? {
        guard let raw, !raw.isEmpty, raw.utf8.count <= 512 else { return nil }
        guard raw.hasPrefix("/"), !raw.hasPrefix("//"), !raw.hasPrefix("/\\") else { return nil }
        // Browsers treat a backslash like a slash; encoded separators and controls are refused too.
        let lowered = raw.lowercased()
        guard !raw.contains("\\"), !lowered.contains("%2f"), !lowered.contains("%5c"), !lowered.contains("%09"),
              !lowered.contains("%0a"), !lowered.contains("%0d"), !lowered.contains("%00"), !raw.contains(":"),
              raw.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else { return nil }
        return raw
    }
}
