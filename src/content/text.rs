//! Text that every output format can carry, and that no reader can take
//! for markup.

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

/// A one-line plain text field (title, summary, names, captions) as readers
/// get it: XML-unsafe characters and bidi embedding, override and isolate
/// controls dropped (they can make a title read backwards, or spill into
/// the text around it), markup removed (`<b>x</b>` → `x`; script and style
/// with their content), whitespace runs as one space. Many feed readers
/// render titles as HTML, so tags must not survive there.
pub fn plain_line(text: &str) -> String {
    let bidi = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    let text: Cow<'_, str> = if text.chars().any(bidi) {
        Cow::Owned(text.chars().filter(|&c| !bidi(c)).collect())
    } else {
        Cow::Borrowed(text)
    };
    let safe = xml_safe(&text);
    let plain = if safe.contains('<') {
        Cow::Owned(strip_markup(&safe))
    } else {
        safe
    };
    plain.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text content of `html`: ammonia with no tags allowed, then its
/// entities turned back into characters.
fn strip_markup(html: &str) -> String {
    let escaped = ammonia::Builder::empty().clean(html).to_string();
    let resolve = |entity: &str| match entity {
        "nbsp" => Some("\u{a0}"),
        other => quick_xml::escape::resolve_xml_entity(other),
    };
    match quick_xml::escape::unescape_with(&escaped, resolve) {
        Ok(text) => text.into_owned(),
        // ammonia only writes entities that resolve; keep its text if not.
        Err(_) => escaped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_only_what_xml_cannot_carry() {
        assert_eq!(xml_safe("a\u{0}b\u{1b}c\u{7f}d\u{85}e\u{FFFF}"), "abcde");
        assert_eq!(xml_safe("Tab\tNL\nCR\r"), "Tab\tNL\nCR\r");
        assert_eq!(xml_safe("Grüße 🎉 שלום <&>"), "Grüße 🎉 שלום <&>");
    }

    #[test]
    fn plain_lines() {
        let table = [
            (
                "Baustelle  an der\n Zwickauer Straße",
                "Baustelle an der Zwickauer Straße",
            ),
            ("Ti\u{1}tel <b>fett</b> & mehr", "Titel fett & mehr"),
            ("<script>alert(1)</script>Hallo", "Hallo"),
            ("3 < 5 und 7 > 6", "3 < 5 und 7 > 6"),
            ("A &amp; B", "A &amp; B"),
            ("»ASSKomm« 🎉 שלום", "»ASSKomm« 🎉 שלום"),
            ("<a href=\"x\">Link</a>&nbsp;<", "Link <"),
        ];
        for (input, expected) in table {
            assert_eq!(plain_line(input), expected, "{input:?}");
        }
    }
}
