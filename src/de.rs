//! German names of months and weekdays: the product's language for what
//! people read, and the month names editors write in dates ("11. Januar 2022").

use chrono::{DateTime, Datelike, FixedOffset, Timelike};

/// Month names, January first.
pub const MONTHS: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];

/// Weekday names, Monday first (chrono's `num_days_from_monday` order).
pub const WEEKDAYS: [&str; 7] = [
    "Montag",
    "Dienstag",
    "Mittwoch",
    "Donnerstag",
    "Freitag",
    "Samstag",
    "Sonntag",
];

/// The month number (1–12) for a German month name, in any case; also
/// "Maerz" and "Jänner", as some editors write them.
pub fn month_number(name: &str) -> Option<u32> {
    let lower = name.to_lowercase();
    let lower = match lower.as_str() {
        "maerz" => "märz",
        "jänner" => "januar",
        other => other,
    };
    MONTHS
        .iter()
        .position(|m| m.to_lowercase() == lower)
        .map(|i| i as u32 + 1)
}

/// The long date line people read: "Dienstag, 11. Januar 2022".
pub fn long_date(date: &DateTime<FixedOffset>) -> String {
    format!(
        "{}, {}. {} {}",
        WEEKDAYS[date.weekday().num_days_from_monday() as usize],
        date.day(),
        MONTHS[date.month0() as usize],
        date.year()
    )
}

/// The short form with the time: "11.01.2022, 14:30 Uhr".
pub fn date_time(date: &DateTime<FixedOffset>) -> String {
    format!(
        "{:02}.{:02}.{}, {:02}:{:02} Uhr",
        date.day(),
        date.month(),
        date.year(),
        date.hour(),
        date.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_what_people_read() {
        let d = DateTime::parse_from_rfc3339("2022-01-11T14:30:00+01:00").unwrap();
        assert_eq!(long_date(&d), "Dienstag, 11. Januar 2022");
        assert_eq!(date_time(&d), "11.01.2022, 14:30 Uhr");
        let d = DateTime::parse_from_rfc3339("2022-03-06T09:05:00+01:00").unwrap();
        assert_eq!(long_date(&d), "Sonntag, 6. März 2022");
    }

    #[test]
    fn reads_month_names() {
        assert_eq!(month_number("Januar"), Some(1));
        assert_eq!(month_number("märz"), Some(3));
        assert_eq!(month_number("MAERZ"), Some(3));
        assert_eq!(month_number("Dezember"), Some(12));
        assert_eq!(month_number("Jan"), None);
    }
}
