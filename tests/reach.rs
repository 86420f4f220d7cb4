//! `build`, `publish` and `serve --publish-to` plan again only the
//! documents a change can reach (`site::reach`). A document left out that
//! did change would stay stale in the output, so the rule is checked here
//! against planning the whole site before and after many kinds of edits.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use stadtfeed::index::{Index, Summary};
use stadtfeed::model::{ArticleId, Category, CategorySlug, Logo, MediaFile, SiteConfig};
use stadtfeed::site::key::DocKey;
use stadtfeed::site::plan::Plan;
use stadtfeed::site::reach::{reach, Reach};
use stadtfeed::site::{self};

mod common;

/// The test town with a logo under `media/` (the favicon) and five
/// entries per subscription feed.
fn config() -> SiteConfig {
    SiteConfig {
        logo: Some(Logo {
            url: "https://www.teststadt.de/feeds/media/logo.png".into(),
            width: None,
            height: None,
        }),
        items_per_page: 5,
        ..common::test_config()
    }
}

/// Category names; "KULTUR" has the slug of "Kultur", so a record naming
/// it renames the category when it is the newest.
const NAMES: [&str; 4] = ["Kultur", "Rathaus", "Polizei", "KULTUR"];

fn category(name: usize) -> Category {
    let name = NAMES[name % NAMES.len()];
    Category {
        name: name.into(),
        slug: CategorySlug::from_name(name).unwrap(),
    }
}

/// Minutes after 2023-12-01 00:00 UTC. Records spread over six months,
/// February crowded around one archive part (200 entries) so that edits
/// cross it, the others sparse so that edits empty and open months.
fn date(minutes: u32) -> chrono::DateTime<chrono::FixedOffset> {
    let start = Utc.with_ymd_and_hms(2023, 12, 1, 0, 0, 0).unwrap();
    (start + chrono::Duration::minutes(i64::from(minutes)))
        .with_timezone(&chrono_tz::Europe::Berlin)
        .fixed_offset()
}

const DAY: u32 = 24 * 60;
const SIX_MONTHS: u32 = 182 * DAY;
const FEBRUARY: std::ops::Range<u32> = (62 * DAY + 120)..(90 * DAY);

fn summary(id: &str, minutes: u32, categories: &[usize], version: u8) -> Arc<Summary> {
    let mut cats: Vec<Category> = Vec::new();
    for &c in categories {
        let c = category(c);
        if cats.iter().all(|known| known.slug != c.slug) {
            cats.push(c);
        }
    }
    Arc::new(Summary {
        id: ArticleId::new(id).unwrap(),
        published: date(minutes),
        updated: None,
        categories: cats,
        hash: [version; 16],
        file_modified: DateTime::UNIX_EPOCH,
        folder: Arc::from(Path::new("articles")),
    })
}

fn media(name: &str, version: u8) -> MediaFile {
    MediaFile {
        url_path: format!("media/{name}"),
        file: format!("/nirgends/{name}").into(),
        content_type: "image/png".into(),
        length: 100,
        hash: Some([version; 16]),
        modified: DateTime::UNIX_EPOCH,
        pixels: Some((1, 1)),
    }
}

/// One edit of the content.
#[derive(Debug, Clone)]
enum Edit {
    Add {
        minutes: u32,
        categories: Vec<usize>,
    },
    Delete(usize),
    /// A new text: a new article version.
    Rewrite(usize),
    Move(usize, u32),
    Recategorise(usize, Vec<usize>),
    Media(usize, u8),
    RemoveMedia(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Anywhere, in February, or newest of all (a category's name is its
    // newest entry's).
    let minutes = prop_oneof![0..SIX_MONTHS, FEBRUARY, SIX_MONTHS..SIX_MONTHS + 60];
    let categories = prop::collection::vec(0..NAMES.len(), 0..3);
    prop_oneof![
        3 => (minutes.clone(), categories.clone())
            .prop_map(|(minutes, categories)| Edit::Add { minutes, categories }),
        2 => any::<usize>().prop_map(Edit::Delete),
        1 => any::<usize>().prop_map(Edit::Rewrite),
        2 => (any::<usize>(), minutes).prop_map(|(i, m)| Edit::Move(i, m)),
        2 => (any::<usize>(), categories).prop_map(|(i, c)| Edit::Recategorise(i, c)),
        1 => (0..4usize, 1..4u8).prop_map(|(i, v)| Edit::Media(i, v)),
        1 => (0..4usize).prop_map(Edit::RemoveMedia),
    ]
}

/// A site of `february` records in February and `others` spread over
/// six months, with three media files, one of them the logo.
fn base(february: usize, others: usize, seed: u32) -> Index {
    let mut index = Index::new(config());
    for i in 0..february + others {
        let step = i as u32 * 7919 + seed;
        let minutes = if i < february {
            FEBRUARY.start + step % (FEBRUARY.end - FEBRUARY.start)
        } else {
            step % SIX_MONTHS
        };
        let categories = [i % 4, (i / 3 + seed as usize) % 4];
        index.insert(summary(&format!("r{i}"), minutes, &categories[..i % 3], 1));
    }
    for name in ["logo.png", "a.png", "b.png"] {
        index.set_media(media(name, 1));
    }
    index
}

fn apply(index: &mut Index, edit: &Edit, serial: usize) {
    let ids: Vec<Arc<Summary>> = index.records().cloned().collect();
    let pick = |i: usize| ids.get(i % ids.len().max(1)).cloned();
    match edit {
        Edit::Add {
            minutes,
            categories,
        } => index.insert(summary(&format!("neu{serial}"), *minutes, categories, 1)),
        Edit::Delete(i) => {
            if let Some(s) = pick(*i) {
                index.remove(&s.id);
            }
        }
        Edit::Rewrite(i) => {
            if let Some(s) = pick(*i) {
                let mut s = Summary::clone(&s);
                s.hash[0] = s.hash[0].wrapping_add(1);
                index.insert(Arc::new(s));
            }
        }
        Edit::Move(i, minutes) => {
            if let Some(s) = pick(*i) {
                let mut s = Summary::clone(&s);
                s.published = date(*minutes);
                index.insert(Arc::new(s));
            }
        }
        Edit::Recategorise(i, categories) => {
            if let Some(s) = pick(*i) {
                let mut new = Summary::clone(&summary(&s.id.to_string(), 0, categories, 1));
                new.published = s.published;
                new.hash = s.hash;
                index.insert(Arc::new(new));
            }
        }
        Edit::Media(i, version) => {
            let name = ["logo.png", "a.png", "b.png", "c.png"][*i];
            index.set_media(media(name, *version + 1));
        }
        Edit::RemoveMedia(i) => {
            let name = ["logo.png", "a.png", "b.png", "c.png"][*i];
            index.remove_media(&format!("media/{name}"));
        }
    }
}

/// Every document of the site by path, with what a manifest compares:
/// its fingerprint and headers.
fn whole_site(index: &Index) -> BTreeMap<DocKey, ([u8; 16], String, String)> {
    site::all_keys(index)
        .into_iter()
        .filter_map(|key| {
            let plan = Plan::of(index, &key)?;
            let seen = (
                plan.fingerprint(index),
                site::content_type_of(index, &key).to_owned(),
                site::cache_control_of(index, &key),
            );
            Some((key, seen))
        })
        .collect()
}

/// The documents that differ between two indexes and that `reach` left out.
fn missed(before: &Index, after: &Index) -> Vec<DocKey> {
    let (old, new) = (whole_site(before), whole_site(after));
    let reached = reach(before, after);
    let keys: BTreeSet<&DocKey> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter(|key| old.get(*key) != new.get(*key) && !reached.contains(key))
        .cloned()
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_changed_document_is_reached(
        february in 196usize..204,
        others in 0usize..30,
        seed in 0u32..10_000,
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let before = base(february, others, seed);
        let mut after = before.clone();
        for (serial, edit) in edits.iter().enumerate() {
            apply(&mut after, edit, serial);
        }
        let missed = missed(&before, &after);
        prop_assert!(missed.is_empty(), "not reached: {missed:?}");
    }
}

#[test]
fn a_new_record_reaches_few_documents_and_no_change_none() {
    let before = base(200, 2000, 7);
    assert_eq!(
        reach(&before, &before.clone()),
        Reach::Keys(Default::default())
    );
    let mut after = before.clone();
    after.insert(summary("neu", SIX_MONTHS - 60, &[0, 1], 1));
    let Reach::Keys(keys) = reach(&before, &after) else {
        panic!("a new record reaches everything");
    };
    let total = site::all_keys(&after).len();
    assert!(
        keys.len() < 80,
        "{} of {total} documents reached",
        keys.len()
    );
    assert!(missed(&before, &after).is_empty());
    // A new logo alone: the favicon is the logo.
    let mut logo = before.clone();
    logo.set_media(media("logo.png", 9));
    assert!(reach(&before, &logo).contains(&DocKey::Favicon));
    assert!(missed(&before, &logo).is_empty());
    let mut config = config();
    config.max_age = 60;
    let mut other = Index::new(config);
    for s in before.records() {
        other.insert(Arc::clone(s));
    }
    assert_eq!(reach(&before, &other), Reach::Everything);
}
