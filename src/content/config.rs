//! `site.toml`: the publisher and its defaults (PRODUCT.md §1.1).

use std::path::Path;

use toml_spanner::{Spanned, Toml};

use super::image;
use super::problem::{line_of, read_toml, Problem, ProblemKind};
use super::text::plain_line;
use crate::model::{Footer, Logo, SiteConfig};

/// The name of the file, relative to the content directory.
pub const FILE_NAME: &str = "site.toml";

/// The keys of `site.toml`, as [`SiteFile`] reads them: named when the
/// file has another.
const SITE_KEYS: &super::problem::TomlKeys = &[(
    "",
    &[
        "title",
        "description",
        "base_url",
        "language",
        "timezone",
        "author",
        "email",
        "copyright",
        "logo",
        "items",
        "hub",
        "max_age",
        "homepage",
        "impressum",
        "datenschutz",
        "barrierefreiheit",
        "phone",
        "color",
    ],
)];

#[derive(Toml)]
#[toml(deny_unknown_fields)]
struct SiteFile {
    title: Option<String>,
    description: Option<String>,
    base_url: Option<Spanned<String>>,
    language: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    author: Option<String>,
    email: Option<Spanned<String>>,
    copyright: Option<String>,
    logo: Option<Spanned<String>>,
    items: Option<Spanned<usize>>,
    hub: Option<Spanned<String>>,
    max_age: Option<u32>,
    homepage: Option<Spanned<String>>,
    impressum: Option<Spanned<String>>,
    datenschutz: Option<Spanned<String>>,
    barrierefreiheit: Option<Spanned<String>>,
    phone: Option<String>,
    color: Option<Spanned<String>>,
}

/// The accent colour of the pages when `site.toml` names none: a calm
/// blue with enough contrast on white (7.9:1) for links.
pub const DEFAULT_COLOR: &str = "#0b5394";

/// What a public body's pages must link to and `site.toml` does not name
/// (§ 5 DDG, GDPR Art. 13, EU Directive 2016/2102): said by `check` and
/// at start, never refused.
pub fn legal_warnings(config: &SiteConfig) -> Vec<String> {
    [
        ("impressum", &config.footer.impressum, "das Impressum (§ 5 DDG)"),
        ("datenschutz", &config.footer.datenschutz, "die Datenschutzerklärung (Art. 13 DSGVO)"),
        (
            "barrierefreiheit",
            &config.footer.barrierefreiheit,
            "die Erklärung zur Barrierefreiheit (Richtlinie (EU) 2016/2102)",
        ),
    ]
    .into_iter()
    .filter(|(_, value, _)| value.is_none())
    .map(|(key, _, what)| {
        format!("{FILE_NAME}: Warnung: `{key}` fehlt; eine Behörde muss auf jeder Seite auf {what} verlinken, z. B. {key} = \"https://www.werdau.de/{key}\"")
    })
    .collect()
}

/// The WCAG 2.1 minimum contrast of normal text (1.4.3, level AA).
const MINIMUM_CONTRAST: f64 = 4.5;

/// A warning when the pages' link colour (`color`) is too light (or too
/// faint) on their white background for people with low vision:
/// WCAG 2.1 asks 4.5:1 for text.
pub fn color_warning(config: &SiteConfig) -> Option<String> {
    let ratio = contrast_on_white(&config.color)?;
    (ratio < MINIMUM_CONTRAST).then(|| {
        format!(
            "{FILE_NAME}: Warnung: color = \"{}\" hat auf dem weißen Hintergrund der Seiten nur einen Kontrast von {ratio:.1}:1; Links brauchen mindestens {MINIMUM_CONTRAST}:1 (WCAG 2.1, 1.4.3), z. B. ein dunkleres \"{DEFAULT_COLOR}\"",
            config.color
        )
    })
}

/// The WCAG contrast ratio of `#rrggbb` against white.
fn contrast_on_white(color: &str) -> Option<f64> {
    let hex = color.strip_prefix('#')?;
    let channel = |i: usize| -> Option<f64> {
        let value = f64::from(u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()?) / 255.0;
        Some(if value <= 0.04045 {
            value / 12.92
        } else {
            ((value + 0.055) / 1.055).powf(2.4)
        })
    };
    let luminance = 0.2126 * channel(0)? + 0.7152 * channel(2)? + 0.0722 * channel(4)?;
    Some(1.05 / (luminance + 0.05))
}

/// Reads and checks `feeds_dir/site.toml`.
pub fn load(feeds_dir: &Path) -> Result<SiteConfig, Problem> {
    let path = feeds_dir.join(FILE_NAME);
    let problem = |line: Option<usize>, kind| Problem {
        path: Path::new(FILE_NAME).to_path_buf(),
        line,
        kind,
    };
    let bytes =
        std::fs::read(&path).map_err(|e| problem(None, ProblemKind::Unreadable(e.to_string())))?;
    let text = String::from_utf8(bytes).map_err(|_| problem(None, ProblemKind::InvalidUtf8))?;
    let at = |span: toml_spanner::Span| Some(line_of(&text, span.start as usize));
    let file: SiteFile =
        read_toml(&text, SITE_KEYS).map_err(|(span, kind)| problem(at(span), kind))?;
    let clean = |s: String| plain_line(&s);
    // An empty value is one left out: feeds must not carry blank text
    // (Atom `rights` and `subtitle` may not be blank).
    let given = |s: Option<String>| s.map(clean).filter(|s| !s.is_empty());

    let title = file
        .title
        .map(clean)
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            problem(
                Some(1),
                ProblemKind::Missing("title", "title = \"Stadt Werdau – Aktuelle Meldungen\""),
            )
        })?;
    // A setting that is an absolute http(s) URL, in the form feeds carry
    // (`image::web_url`), or the problem naming its line.
    let link = |field: Option<Spanned<String>>| -> Result<Option<String>, Problem> {
        match field {
            None => Ok(None),
            Some(url) => match image::web_url(&url.value) {
                Some(web) => Ok(Some(web)),
                None => Err(problem(
                    at(url.span),
                    ProblemKind::BadUrl(url.value.trim().to_owned()),
                )),
            },
        }
    };
    let base_url = link(file.base_url)?
        .ok_or_else(|| {
            problem(
                Some(1),
                ProblemKind::Missing("base_url", "base_url = \"https://www.werdau.de/feeds\""),
            )
        })?
        .trim_end_matches('/')
        .to_owned();
    let timezone = match file.timezone {
        None => chrono_tz::Europe::Berlin,
        Some(tz) => tz.value.parse().map_err(|_| {
            problem(
                at(tz.span),
                ProblemKind::Config(format!(
                    "timezone `{}` is not an IANA time zone name such as \"Europe/Berlin\"",
                    tz.value
                )),
            )
        })?,
    };
    let items_per_page = match file.items {
        None => 50,
        Some(n) if n.value >= 1 => n.value,
        Some(n) => {
            return Err(problem(
                at(n.span),
                ProblemKind::Config("items must be at least 1".to_owned()),
            ))
        }
    };
    let hub = link(file.hub)?;
    let logo = match file.logo {
        None => None,
        Some(src) if image::is_remote(&src.value) => link(Some(src))?.map(|url| Logo {
            url,
            width: None,
            height: None,
        }),
        Some(src) => {
            let local = image::inspect_local(
                feeds_dir,
                &src.value,
                &base_url,
                &image::MeasuredImages::default(),
            )
            .map_err(|kind| problem(at(src.span), kind))?;
            Some(Logo {
                url: local.url,
                width: Some(local.width),
                height: Some(local.height),
            })
        }
    };
    let footer = Footer {
        homepage: link(file.homepage)?,
        impressum: link(file.impressum)?,
        datenschutz: link(file.datenschutz)?,
        barrierefreiheit: link(file.barrierefreiheit)?,
        phone: given(file.phone),
    };
    let language = match file.language {
        None => "de-DE".to_owned(),
        Some(tag) => {
            let text = tag.value.trim();
            if !is_language_tag(text) {
                return Err(problem(
                    at(tag.span),
                    ProblemKind::Config(format!(
                        "language `{text}` is not a language tag like \"de-DE\" or \"de\" (an ISO 639 code of 2 or 3 letters, then a region, joined by a hyphen)"
                    )),
                ));
            }
            text.to_owned()
        }
    };
    let email = match file.email {
        None => None,
        Some(address) => {
            let text = clean(address.value.clone());
            if !is_email_address(&text) {
                return Err(problem(
                    at(address.span),
                    ProblemKind::Config(format!(
                        "email `{text}` is not an email address like \"presse@werdau.de\""
                    )),
                ));
            }
            Some(text)
        }
    };
    let color = match file.color {
        None => DEFAULT_COLOR.to_owned(),
        Some(color) => {
            let text = color.value.trim();
            let hex = text.strip_prefix('#').unwrap_or_default();
            if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(problem(
                    at(color.span),
                    ProblemKind::Config(format!("color `{text}` is not a colour like \"#0b5394\"")),
                ));
            }
            text.to_ascii_lowercase()
        }
    };
    Ok(SiteConfig {
        footer,
        color,
        description: given(file.description).unwrap_or_else(|| title.clone()),
        author: given(file.author).unwrap_or_else(|| title.clone()),
        title,
        base_url,
        language,
        timezone,
        email,
        copyright: given(file.copyright),
        logo,
        items_per_page,
        hub,
        max_age: file.max_age.unwrap_or(300),
    })
}

/// Whether `tag` has the shape that feed readers and validators take for
/// RSS `<language>` and Atom `xml:lang`: an ISO 639 code of 2 or 3
/// letters, then subtags of 1 to 8 letters or digits, joined by hyphens
/// ("de", "de-DE", "hsb-DE"). Catches "deutsch", "German" and "de_DE".
fn is_language_tag(tag: &str) -> bool {
    let mut subtags = tag.split('-');
    let language = subtags.next().unwrap_or_default();
    (2..=3).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_alphabetic())
        && subtags
            .all(|s| (1..=8).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Whether `address` has the shape feed validators take for RSS
/// `managingEditor` and Atom `email`: one `@` between a local part and a
/// domain with a dot, no spaces or angle brackets (a name belongs in
/// `author`).
fn is_email_address(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let plain = |part: &str| {
        !part.is_empty()
            && !part.starts_with('.')
            && !part.ends_with('.')
            && !part.contains(|c: char| c.is_whitespace() || "@<>()[],;:\\\"".contains(c))
    };
    plain(local) && plain(domain) && domain.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys an error names are the keys `SiteFile` reads: a file
    /// setting each named key is read (none unknown), and sets every
    /// field (the pattern names them all, so a new field must be here).
    #[test]
    fn named_keys_are_the_keys_read() {
        let text: String = SITE_KEYS[0]
            .1
            .iter()
            .map(|key| match *key {
                "items" | "max_age" => format!("{key} = 5\n"),
                _ => format!("{key} = \"x\"\n"),
            })
            .collect();
        let file = read_toml::<SiteFile>(&text, SITE_KEYS).unwrap_or_else(|(_, e)| panic!("{e}"));
        let SiteFile {
            title,
            description,
            base_url,
            language,
            timezone,
            author,
            email,
            copyright,
            logo,
            items,
            hub,
            max_age,
            homepage,
            impressum,
            datenschutz,
            barrierefreiheit,
            phone,
            color,
        } = file;
        let texts = [title, description, author, copyright, phone];
        let spanned = [
            base_url,
            language,
            timezone,
            email,
            logo,
            hub,
            homepage,
            impressum,
            datenschutz,
            barrierefreiheit,
            color,
        ];
        assert!(texts.iter().all(Option::is_some), "{texts:?}");
        assert!(spanned.iter().all(Option::is_some), "{spanned:?}");
        assert!(items.is_some() && max_age.is_some());
    }

    #[test]
    fn email_addresses_have_a_local_part_and_a_domain() {
        for good in [
            "presse@werdau.de",
            "presse.stelle@stadt-werdau.de",
            "a+b@x.de",
        ] {
            assert!(is_email_address(good), "{good}");
        }
        for bad in [
            "presse",
            "@werdau.de",
            "presse@",
            "presse@werdau",
            "a@b@c.de",
            "Presse <presse@werdau.de>",
            "presse @werdau.de",
            "presse@werdau.de.",
        ] {
            assert!(!is_email_address(bad), "{bad}");
        }
    }

    #[test]
    fn language_tags_are_iso_639_codes_with_subtags() {
        for good in ["de", "de-DE", "DE-de", "hsb-DE", "en-GB", "sr-Latn-RS"] {
            assert!(is_language_tag(good), "{good}");
        }
        for bad in [
            "",
            "deutsch",
            "German",
            "de_DE",
            "de-",
            "-DE",
            "d",
            "de DE",
            "de-DE-toolongsubtag",
        ] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn link_colours_need_contrast_on_white() {
        // Reference values of the WebAIM contrast checker.
        let ratio = |c| (contrast_on_white(c).unwrap() * 100.0).round() / 100.0;
        assert_eq!(ratio("#000000"), 21.0);
        assert_eq!(ratio("#ffffff"), 1.0);
        assert_eq!(ratio("#0b5394"), 7.84);
        assert_eq!(ratio("#777777"), 4.48);
        assert!(contrast_on_white("#767676").unwrap() >= MINIMUM_CONTRAST);
    }
}
