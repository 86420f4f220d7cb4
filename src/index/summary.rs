//! What memory keeps of a published record: its summary, without text,
//! and its saved form.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use super::Scope;
use crate::content::store::ArticleHash;
use crate::model::{ArticleId, Category};

/// What memory keeps of a published record; the text is in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Identity.
    pub id: ArticleId,
    /// First publication, in the site's offset.
    #[serde(with = "instant_as_numbers")]
    pub published: DateTime<FixedOffset>,
    /// Last change after publication, if any.
    #[serde(with = "instant_as_numbers::optional")]
    pub updated: Option<DateTime<FixedOffset>>,
    /// Its categories, in the record's order.
    pub categories: Vec<Category>,
    /// The article version in the store.
    pub hash: ArticleHash,
    /// The newest mtime of the record file and its image: an edit moves it.
    #[serde(with = "instant_as_numbers::utc")]
    pub file_modified: DateTime<Utc>,
    /// The folder of the record file (relative to the content directory):
    /// a deletion beside it moves that folder's mtime.
    pub folder: Arc<Path>,
}

impl Summary {
    /// The summary of `article`, stored under `hash`.
    pub fn of(article: &crate::model::Article, hash: ArticleHash) -> Summary {
        Summary {
            id: article.id.clone(),
            published: article.published,
            updated: article.updated,
            categories: article.categories.clone(),
            hash,
            file_modified: DateTime::UNIX_EPOCH,
            folder: Arc::from(Path::new("")),
        }
    }

    /// `updated`, else `published`.
    pub fn last_change(&self) -> DateTime<FixedOffset> {
        self.updated.unwrap_or(self.published)
    }

    /// Every feed the record appears in.
    pub fn scopes(&self) -> impl Iterator<Item = Scope> + '_ {
        std::iter::once(Scope::Site).chain(
            self.categories
                .iter()
                .map(|c| Scope::Category(c.slug.clone())),
        )
    }
}

/// A summary's instants as numbers (seconds, nanoseconds, offset) in the
/// saved state: chrono's text form made restoring 100 000 summaries parse
/// two or three dates each.
mod instant_as_numbers {
    use chrono::{DateTime, FixedOffset, Utc};
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    type Numbers = (i64, u32, i32);

    fn numbers(instant: &DateTime<FixedOffset>) -> Numbers {
        let offset = instant.offset().local_minus_utc();
        (
            instant.timestamp(),
            instant.timestamp_subsec_nanos(),
            offset,
        )
    }

    fn instant<E: serde::de::Error>(
        (secs, nanos, offset): Numbers,
    ) -> Result<DateTime<FixedOffset>, E> {
        let offset =
            FixedOffset::east_opt(offset).ok_or_else(|| E::custom("offset out of range"))?;
        DateTime::from_timestamp(secs, nanos)
            .map(|utc| utc.with_timezone(&offset))
            .ok_or_else(|| E::custom("instant out of range"))
    }

    pub fn serialize<S: Serializer>(
        value: &DateTime<FixedOffset>,
        to: S,
    ) -> Result<S::Ok, S::Error> {
        numbers(value).serialize(to)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        from: D,
    ) -> Result<DateTime<FixedOffset>, D::Error> {
        instant(Numbers::deserialize(from)?)
    }

    pub mod optional {
        use super::*;

        pub fn serialize<S: Serializer>(
            value: &Option<DateTime<FixedOffset>>,
            to: S,
        ) -> Result<S::Ok, S::Error> {
            value.as_ref().map(numbers).serialize(to)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            from: D,
        ) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
            Option::<Numbers>::deserialize(from)?
                .map(instant)
                .transpose()
        }
    }

    pub mod utc {
        use super::*;

        pub fn serialize<S: Serializer>(value: &DateTime<Utc>, to: S) -> Result<S::Ok, S::Error> {
            (value.timestamp(), value.timestamp_subsec_nanos()).serialize(to)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<DateTime<Utc>, D::Error> {
            let (secs, nanos) = <(i64, u32)>::deserialize(from)?;
            DateTime::from_timestamp(secs, nanos)
                .ok_or_else(|| D::Error::custom("instant out of range"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The saved state keeps each instant and its offset (`==` on chrono
    /// instants ignores the offset, so the text form is compared).
    #[test]
    fn a_summary_keeps_its_instants_and_offsets_through_the_saved_form() {
        let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap();
        let summary = Summary {
            id: ArticleId::new("sommerfest").unwrap(),
            published: at("2026-03-29T01:59:59.250+01:00"),
            updated: Some(at("2026-10-25T02:30:00+02:00")),
            categories: Vec::new(),
            hash: [7; 16],
            file_modified: at("2026-11-26T21:00:00.123456789Z").with_timezone(&Utc),
            folder: Arc::from(Path::new("articles/2026")),
        };
        let bytes = postcard::to_stdvec(&summary).unwrap();
        let back: Summary = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.published.to_rfc3339(), "2026-03-29T01:59:59.250+01:00");
        assert_eq!(
            back.updated.map(|u| u.to_rfc3339()).as_deref(),
            Some("2026-10-25T02:30:00+02:00")
        );
        assert_eq!(
            back.file_modified.to_rfc3339(),
            "2026-11-26T21:00:00.123456789+00:00"
        );
        assert_eq!(back, summary);
        let never = Summary {
            updated: None,
            ..summary
        };
        let back: Summary = postcard::from_bytes(&postcard::to_stdvec(&never).unwrap()).unwrap();
        assert_eq!(back.updated, None);
    }
}
