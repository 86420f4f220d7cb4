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
    if !has_unwanted(text.as_bytes()) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().filter(|&c| !unwanted(c)).collect())
}

/// Whether valid UTF-8 holds a character [`xml_safe`] drops. Record
/// bodies are scanned whole at every reading, so the scan looks at 32 bytes
/// at a time for any byte such a character can start with (C0,
/// DEL, and the lead bytes of the C1 controls and of U+FFFE/U+FFFF), and
/// only then at the characters.
fn has_unwanted(bytes: &[u8]) -> bool {
    const STEP: usize = 32;
    let may_start = |b: u8| {
        (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r')
            | (b == 0x7F)
            | (b == 0xC2)
            | (b == 0xEF)
    };
    let starts = |at: usize| match bytes[at] {
        0xC2 => matches!(bytes.get(at + 1), Some(0x80..=0x9F)),
        0xEF => bytes.get(at + 1) == Some(&0xBF) && matches!(bytes.get(at + 2), Some(0xBE | 0xBF)),
        b => may_start(b),
    };
    for (step, chunk) in bytes.chunks(STEP).enumerate() {
        // No early exit within a chunk: the compiler checks it at once.
        if chunk.iter().fold(false, |any, &b| any | may_start(b)) {
            let at = step * STEP;
            if (at..at + chunk.len()).any(starts) {
                return true;
            }
        }
    }
    false
}

/// A one-line plain text field (title, summary, names, captions) as readers
/// get it: every character the editor typed (`a<b`, `AT&T`, `<Entwurf>`)
/// stays, to be escaped by each renderer as its format needs. Dropped are
/// only the characters XML cannot carry and the bidi embedding, override
/// and isolate controls (they can make a title read backwards, or spill
/// into the text around it); whitespace runs become one space, and there
/// is none at either end.
pub fn plain_line(text: &str) -> String {
    if is_plain_line(text) {
        return text.to_owned();
    }
    made_plain(text)
}

/// [`plain_line`] by its definition, for any line.
fn made_plain(text: &str) -> String {
    let text: Cow<'_, str> = if text.chars().any(is_bidi_control) {
        Cow::Owned(text.chars().filter(|&c| !is_bidi_control(c)).collect())
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

/// The bidi embedding, override and isolate controls.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether [`plain_line`] would return `text` as it is, as it does for
/// most titles: words parted by single spaces, none at either end, and no
/// character it drops or whitespace it turns into a space. One look at
/// each character, where making the line costs a split and a join.
fn is_plain_line(text: &str) -> bool {
    // At the start, a space would be one too many, as after a space.
    let mut after_space = true;
    for c in text.chars() {
        if c == ' ' {
            if after_space {
                return false;
            }
            after_space = true;
        } else if c.is_whitespace()
            || c.is_control()
            || is_bidi_control(c)
            || matches!(c, '\u{FFFE}' | '\u{FFFF}')
        {
            return false;
        } else {
            after_space = false;
        }
    }
    !after_space || text.is_empty()
}

/// HTML elements whose tags in a title are almost surely pasted markup,
/// not words in angle brackets (`<Entwurf>` is a word).
const HTML_ELEMENTS: &[&str] = &[
    "a",
    "b",
    "big",
    "blockquote",
    "br",
    "button",
    "code",
    "div",
    "em",
    "embed",
    "font",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "i",
    "iframe",
    "img",
    "input",
    "li",
    "link",
    "math",
    "meta",
    "object",
    "ol",
    "p",
    "pre",
    "s",
    "script",
    "small",
    "span",
    "strong",
    "style",
    "sub",
    "sup",
    "svg",
    "table",
    "td",
    "th",
    "tr",
    "u",
    "ul",
];

/// The first HTML tag in plain text (`<b>`, `</script>`, `<img src=…>`),
/// if any: such text is shown verbatim, but the editor probably pasted
/// markup, and some RSS readers read titles as HTML.
pub fn html_tag(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let name_start = usize::from(after.starts_with('/'));
        let name_len = after[name_start..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(after.len() - name_start);
        let name = &after[name_start..name_start + name_len];
        let tail = &after[name_start + name_len..];
        // `<b>`, `<br/>`, `<img src=…>`; not `a<b bleibt` (no `>` follows).
        let closes = tail.starts_with(['>', '/']) || (tail.starts_with(' ') && tail.contains('>'));
        if closes && HTML_ELEMENTS.contains(&name.to_ascii_lowercase().as_str()) {
            let end = after.find('>').map_or(after.len(), |i| i + 1);
            return Some(&rest[start..start + 1 + end]);
        }
        rest = after;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The shortcut for plain lines changes nothing. Lines built from
        /// the characters that matter: spaces at the ends, runs of them,
        /// kept no-break spaces, dropped controls.
        #[test]
        fn plain_line_follows_the_definition(
            pieces in proptest::collection::vec(
                // Mostly words and single spaces: most lines are plain, and
                // only those take the shortcut.
                prop_oneof![
                    8 => Just("x"), 4 => Just(" "), 2 => Just("ä"), 2 => Just("€"),
                    1 => Just("  "), 1 => Just("\t"), 1 => Just("\n"), 1 => Just("\u{A0}"),
                    1 => Just("\u{2007}"), 1 => Just("\u{2003}"), 1 => Just("\u{3000}"),
                    1 => Just("\u{85}"), 1 => Just("\u{1}"), 1 => Just("\u{7F}"),
                    1 => Just("\u{202E}"), 1 => Just("\u{2066}"), 1 => Just("\u{FFFF}"),
                ],
                0..12,
            )
        ) {
            let line = pieces.concat();
            prop_assert_eq!(plain_line(&line), made_plain(&line));
        }
    }

    #[test]
    fn finds_pasted_html_tags_not_words_in_angle_brackets() {
        assert_eq!(
            html_tag("Rathaus <script>alert(1)</script>"),
            Some("<script>")
        );
        assert_eq!(html_tag("Nur </b> am Ende"), Some("</b>"));
        assert_eq!(html_tag("Bild <img src=x>"), Some("<img src=x>"));
        assert_eq!(html_tag("Liste <Entwurf> veröffentlicht"), None);
        assert_eq!(html_tag("Tarif a<b bleibt"), None);
        assert_eq!(html_tag("a < b und c > d"), None);
        assert_eq!(html_tag("]]> & <b"), None);
    }

    #[test]
    fn drops_only_what_xml_cannot_carry() {
        assert_eq!(xml_safe("a\u{0}b\u{1b}c\u{7f}d\u{85}e\u{FFFF}"), "abcde");
        assert_eq!(xml_safe("Tab\tNL\nCR\r"), "Tab\tNL\nCR\r");
        assert_eq!(xml_safe("Grüße 🎉 שלום <&>"), "Grüße 🎉 שלום <&>");
    }

    use proptest::strategy::Strategy;

    proptest::proptest! {
        /// The byte scan finds exactly the characters the definition drops,
        /// wherever they fall against its 32-byte steps.
        #[test]
        fn xml_safe_drops_what_the_definition_drops(text in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::char::any(),
                proptest::sample::select(vec![
                    'a', 'ß', '§', '\u{A0}', '\u{7F}', '\u{80}', '\u{85}', '\u{9F}', '\u{0}',
                    '\u{1F}', '\t', '\n', '\r', '\u{FFFD}', '\u{FFFE}', '\u{FFFF}', '\u{EFBF}',
                ]),
            ],
            0..100,
        ).prop_map(|chars| chars.into_iter().collect::<String>())) {
            let unwanted = |c: char| {
                (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
                    || matches!(c, '\u{FFFE}' | '\u{FFFF}')
            };
            let expected: String = text.chars().filter(|&c| !unwanted(c)).collect();
            let safe = xml_safe(&text);
            proptest::prop_assert_eq!(&*safe, expected.as_str());
            proptest::prop_assert_eq!(matches!(safe, Cow::Borrowed(_)), expected == text);
        }
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
