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
/// get it: every character the editor typed (`a<b`, `AT&T`, `<Entwurf>`)
/// stays, to be escaped by each renderer as its format needs. Dropped are
/// only the characters XML cannot carry and the bidi embedding, override
/// and isolate controls (they can make a title read backwards, or spill
/// into the text around it); whitespace runs become one space, and there
/// is none at either end.
pub fn plain_line(text: &str) -> String {
    let bidi = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    let text: Cow<'_, str> = if text.chars().any(bidi) {
        Cow::Owned(text.chars().filter(|&c| !bidi(c)).collect())
    } else {
        Cow::Borrowed(text)
    };
    // No-break spaces are typed on purpose ("§ 5", "10 km"): they stay.
    let breaking = |c: char| c.is_whitespace() && !matches!(c, '\u{A0}' | '\u{2007}' | '\u{202F}');
    xml_safe(&text)
        .split(breaking)
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .trim_matches(char::is_whitespace)
        .to_owned()
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
            ("Ti\u{1}tel <b>fett</b> & mehr", "Titel <b>fett</b> & mehr"),
            ("Tarif a<b bleibt", "Tarif a<b bleibt"),
            (
                "§\u{A0}5 DDG,\u{2028}10\u{202F}km",
                "§\u{A0}5 DDG, 10\u{202F}km",
            ),
            (
                "Liste <Entwurf> veröffentlicht",
                "Liste <Entwurf> veröffentlicht",
            ),
            ("\u{202E}AT&T \"Zitat\"", "AT&T \"Zitat\""),
            ("3 < 5 und 7 > 6", "3 < 5 und 7 > 6"),
            ("A &amp; B", "A &amp; B"),
            ("»ASSKomm« 🎉 שלום", "»ASSKomm« 🎉 שלום"),
            (
                "<a href=\"x\">Link</a>&nbsp;<",
                "<a href=\"x\">Link</a>&nbsp;<",
            ),
        ];
        for (input, expected) in table {
            assert_eq!(plain_line(input), expected, "{input:?}");
        }
    }
}
