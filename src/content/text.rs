//! Text that every output format can carry.

use std::borrow::Cow;

/// Drops the characters XML 1.0 cannot carry (C0 controls but tab, newline
/// and carriage return; U+FFFE, U+FFFF) and the C1 controls, which no reader
/// shows. Everything else, including emoji and right-to-left text, stays.
pub fn xml_safe(text: &str) -> Cow<'_, str> {
    fn unwanted(c: char) -> bool {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    }
    if text.chars().any(unwanted) {
        Cow::Owned(text.chars().filter(|&c| !unwanted(c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::xml_safe;

    #[test]
    fn drops_only_what_xml_cannot_carry() {
        assert_eq!(xml_safe("a\u{0}b\u{1b}c\u{7f}d\u{85}e\u{FFFF}"), "abcde");
        assert_eq!(xml_safe("Tab\tNL\nCR\r"), "Tab\tNL\nCR\r");
        assert_eq!(xml_safe("Grüße 🎉 שלום <&>"), "Grüße 🎉 שלום <&>");
    }
}
