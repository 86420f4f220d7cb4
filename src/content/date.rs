//! Dates as German editors write them, made into instants with the site's
//! local offset (PRODUCT.md §1.3).

use std::sync::LazyLock;

use chrono::format::{Item, ParseErrorKind, ParseResult, Parsed, StrftimeItems};
use chrono::{DateTime, Datelike, FixedOffset, LocalResult, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;

use crate::de;

/// Why a date in a record could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Not one of the accepted forms.
    #[error(
        "`{0}` is not a date stadtfeed reads; write e.g. \"11.01.2022\", \"11.01.2022, 14:30 Uhr\", \"11. Januar 2022\" or \"2022-01-11T14:30:00+01:00\""
    )]
    Unrecognised(String),
    /// A well-formed date that is not in the calendar (31.02.2022).
    #[error("`{0}` does not exist in the calendar; check day and month")]
    Impossible(String),
    /// A local time skipped when the clocks spring forward.
    #[error("{0} does not exist in {1}: the clocks jump forward over it; write the time after the change")]
    SpringForwardGap(String, Tz),
    /// A year no town news has: most often a two-digit year ("11.01.22").
    #[error("`{0}` has the year {1}; write the year with four digits, between 1900 and 2999")]
    ImplausibleYear(String, i32),
    /// A TOML time of day without a date.
    #[error("a time of day needs a date too, e.g. \"11.01.2022 14:30\"")]
    TimeWithoutDate,
}

/// Date-only forms: midnight local time.
const DATE_FORMATS: [&str; 2] = ["%d.%m.%Y", "%Y-%m-%d"];
/// Local date-time forms, after "Uhr" and the comma are taken out.
const DATE_TIME_FORMATS: [&str; 6] = [
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
];

/// The forms above, parsed once (two dates of each of 100 000 records
/// parsed their form again: 1 % of a first start).
static DATE_ITEMS: LazyLock<Vec<Vec<Item<'static>>>> = LazyLock::new(|| items(&DATE_FORMATS));
static DATE_TIME_ITEMS: LazyLock<Vec<Vec<Item<'static>>>> =
    LazyLock::new(|| items(&DATE_TIME_FORMATS));

fn items(formats: &[&'static str]) -> Vec<Vec<Item<'static>>> {
    formats
        .iter()
        .map(|format| StrftimeItems::new(format).collect())
        .collect()
}

/// What `text` says in the form of `items`.
fn parsed(text: &str, items: &[Item<'static>]) -> ParseResult<Parsed> {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, text, items.iter())?;
    Ok(parsed)
}

/// Reads a date written as text in any of the accepted forms; a form without
/// an offset is local time in `tz`.
pub fn parse_text(text: &str, tz: Tz) -> Result<DateTime<FixedOffset>, DateError> {
    let date = parse_any_year(text, tz)?;
    if !(1900..=2999).contains(&date.year()) {
        return Err(DateError::ImplausibleYear(
            text.trim().to_owned(),
            date.year(),
        ));
    }
    Ok(date)
}

fn parse_any_year(text: &str, tz: Tz) -> Result<DateTime<FixedOffset>, DateError> {
    let trimmed = text.trim();
    if let Some(local) = plain_german(trimmed) {
        return from_local(local, tz);
    }
    if let Ok(instant) = DateTime::parse_from_rfc3339(trimmed) {
        return Ok(in_zone(instant, tz));
    }
    from_local(local_form(trimmed)?, tz)
}

/// The local date and time `trimmed` writes in one of the forms without
/// an offset, trying each in turn.
fn local_form(trimmed: &str) -> Result<NaiveDateTime, DateError> {
    let normalised = normalise(trimmed);
    let mut impossible = false;
    for items in DATE_TIME_ITEMS.iter() {
        match parsed(&normalised, items).and_then(|p| p.to_naive_datetime_with_offset(0)) {
            Ok(local) => return Ok(local),
            Err(e) if e.kind() == ParseErrorKind::OutOfRange => impossible = true,
            Err(_) => {}
        }
    }
    for items in DATE_ITEMS.iter() {
        match parsed(&normalised, items).and_then(|p| p.to_naive_date()) {
            Ok(day) => return Ok(day.and_time(NaiveTime::MIN)),
            Err(e) if e.kind() == ParseErrorKind::OutOfRange => impossible = true,
            Err(_) => {}
        }
    }
    Err(if impossible {
        DateError::Impossible(trimmed.to_owned())
    } else {
        DateError::Unrecognised(trimmed.to_owned())
    })
}

/// "11.01.2022" and "11.01.2022 14:30", the forms most records use, read
/// without trying each form in turn (2–3 % of a first start's CPU went to
/// the general path); anything else, an impossible day too, is left to it.
fn plain_german(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let time = match b.len() {
        10 => NaiveTime::MIN,
        16 if b[10] == b' ' && b[13] == b':' => {
            NaiveTime::from_hms_opt(digits(11..13)?, digits(14..16)?, 0)?
        }
        _ => return None,
    };
    if b[2] != b'.' || b[5] != b'.' {
        return None;
    }
    let year = i32::try_from(digits(6..10)?).ok()?;
    let day = chrono::NaiveDate::from_ymd_opt(year, digits(3..5)?, digits(0..2)?)?;
    Some(day.and_time(time))
}

/// Reads a TOML datetime: with an offset it is an instant, without one it is
/// local time in `tz`, a bare date is midnight local time.
pub fn parse_toml(
    value: &toml_spanner::DateTime,
    tz: Tz,
) -> Result<DateTime<FixedOffset>, DateError> {
    // The TOML form is RFC 3339 (or its local forms), which parse_text reads.
    if value.date().is_none() {
        return Err(DateError::TimeWithoutDate);
    }
    let mut buffer = std::mem::MaybeUninit::uninit();
    parse_text(&value.format(&mut buffer).replace(' ', "T"), tz)
}

/// "11. Januar 2022, 14:30 Uhr" → "11.01.2022 14:30": month names to numbers,
/// the comma and "Uhr" out, so that the numeric formats apply.
fn normalise(text: &str) -> String {
    let without_uhr = text
        .strip_suffix("Uhr")
        .or_else(|| text.strip_suffix("uhr"))
        .unwrap_or(text)
        .trim_end();
    let words: Vec<&str> = without_uhr
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    // "11." "Januar" "2022" [time]
    if let [day, month, year, rest @ ..] = words.as_slice() {
        if let (Some(day), Some(month)) = (day.strip_suffix('.'), de::month_number(month)) {
            let mut out = format!("{day}.{month:02}.{year}");
            for part in rest {
                out.push(' ');
                out.push_str(part);
            }
            return out;
        }
    }
    words.join(" ")
}

fn in_zone(instant: DateTime<FixedOffset>, tz: Tz) -> DateTime<FixedOffset> {
    instant.with_timezone(&tz).fixed_offset()
}

/// Local wall-clock time to an instant: the gap is an error, the repeated
/// autumn hour is its earlier instant.
fn from_local(local: NaiveDateTime, tz: Tz) -> Result<DateTime<FixedOffset>, DateError> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.fixed_offset()),
        LocalResult::Ambiguous(a, b) => Ok(a.min(b).fixed_offset()),
        LocalResult::None => Err(DateError::SpringForwardGap(
            local.format("%d.%m.%Y %H:%M").to_string(),
            tz,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Berlin;

    fn rfc3339(text: &str) -> String {
        parse_text(text, Berlin).unwrap().to_rfc3339()
    }

    #[test]
    fn every_accepted_form() {
        let table = [
            ("11.01.2022", "2022-01-11T00:00:00+01:00"),
            ("11.01.2022 14:30", "2022-01-11T14:30:00+01:00"),
            ("11.01.2022, 14:30 Uhr", "2022-01-11T14:30:00+01:00"),
            ("11.01.2022 14:30 Uhr", "2022-01-11T14:30:00+01:00"),
            ("11. Januar 2022", "2022-01-11T00:00:00+01:00"),
            ("11. Januar 2022, 14:30 Uhr", "2022-01-11T14:30:00+01:00"),
            ("1. März 2022", "2022-03-01T00:00:00+01:00"),
            ("2022-01-11", "2022-01-11T00:00:00+01:00"),
            ("2022-01-11T14:30:00+01:00", "2022-01-11T14:30:00+01:00"),
            ("2022-01-11T13:30:00Z", "2022-01-11T14:30:00+01:00"),
            ("2022-07-11T14:30:00", "2022-07-11T14:30:00+02:00"),
            ("  11.07.2022  ", "2022-07-11T00:00:00+02:00"),
            ("11. Juli 2022", "2022-07-11T00:00:00+02:00"),
        ];
        for (text, expected) in table {
            assert_eq!(rfc3339(text), expected, "{text}");
        }
    }

    /// The quick reading of "DD.MM.YYYY [HH:MM]" says what trying each
    /// form says, for every day of four decades; near misses are left to
    /// the forms.
    #[test]
    fn plain_german_dates_read_as_the_general_path_reads_them() {
        let mut day = chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap();
        while day.year() < 2030 {
            for text in [
                day.format("%d.%m.%Y").to_string(),
                day.format("%d.%m.%Y 23:59").to_string(),
                day.format("%d.%m.%Y 02:30").to_string(),
            ] {
                assert_eq!(plain_german(&text), local_form(&text).ok(), "{text}");
            }
            day = day.succ_opt().unwrap();
        }
        for text in [
            "31.02.2022",
            "29.02.2023",
            "00.01.2022",
            "11.13.2022",
            "11.01.2022 24:00",
            "11.01.2022 14:60",
            "1.01.2022",
            "11-01-2022",
            "11.01.2022T14:30",
            "11.01.2022 1430",
            "aa.bb.cccc",
            "11.01.20２2",
        ] {
            assert_eq!(plain_german(text), None, "{text}");
        }
    }

    #[test]
    fn toml_datetimes() {
        let table = [
            ("d = 2022-01-11", "2022-01-11T00:00:00+01:00"),
            ("d = 2022-07-11T14:30:00", "2022-07-11T14:30:00+02:00"),
            ("d = 2022-07-11 14:30:00", "2022-07-11T14:30:00+02:00"),
            ("d = 2022-01-11T14:30:00+01:00", "2022-01-11T14:30:00+01:00"),
            ("d = 2022-01-11T13:30:00Z", "2022-01-11T14:30:00+01:00"),
        ];
        let datetime = |doc: &str| {
            let arena = toml_spanner::Arena::new();
            let table = toml_spanner::parse(doc, &arena).unwrap();
            *table["d"].as_datetime().expect(doc)
        };
        for (doc, expected) in table {
            assert_eq!(
                parse_toml(&datetime(doc), Berlin).unwrap().to_rfc3339(),
                expected,
                "{doc}"
            );
        }
        assert_eq!(
            parse_toml(&datetime("d = 14:30:00"), Berlin),
            Err(DateError::TimeWithoutDate)
        );
    }

    #[test]
    fn daylight_saving_edges() {
        // Spring forward 27.03.2022: 02:00 CET becomes 03:00 CEST.
        assert_eq!(rfc3339("27.03.2022 01:59"), "2022-03-27T01:59:00+01:00");
        assert!(matches!(
            parse_text("27.03.2022 02:30", Berlin),
            Err(DateError::SpringForwardGap(..))
        ));
        assert_eq!(rfc3339("27.03.2022 03:00"), "2022-03-27T03:00:00+02:00");
        // Fall back 30.10.2022: 02:00–03:00 happens twice; the earlier is CEST.
        assert_eq!(rfc3339("30.10.2022 02:30"), "2022-10-30T02:30:00+02:00");
        assert_eq!(rfc3339("30.10.2022 03:00"), "2022-10-30T03:00:00+01:00");
        assert_eq!(rfc3339("30.10.2022 01:59"), "2022-10-30T01:59:00+02:00");
    }

    #[test]
    fn impossible_and_unknown_dates() {
        for text in [
            "31.02.2022",
            "29.02.2023",
            "2022-13-01",
            "32.01.2022",
            "11.01.2022 25:00",
        ] {
            assert_eq!(
                parse_text(text, Berlin),
                Err(DateError::Impossible(text.to_owned())),
                "{text}"
            );
        }
        for text in ["gestern", "", "11/01/2022", "11. Jan 2022", "Januar 2022"] {
            assert_eq!(
                parse_text(text, Berlin),
                Err(DateError::Unrecognised(text.to_owned())),
                "{text}"
            );
        }
        assert_eq!(rfc3339("29.02.2024"), "2024-02-29T00:00:00+01:00");
        for (text, year) in [("11.01.22", 22), ("1. Januar 0", 0), ("0202-01-11", 202)] {
            assert_eq!(
                parse_text(text, Berlin),
                Err(DateError::ImplausibleYear(text.to_owned(), year)),
                "{text}"
            );
        }
    }
}
