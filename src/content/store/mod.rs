//! The article store: every article that was read, full text included,
//! kept by the hash of its contents, so that memory holds only summaries
//! and a cold document can still be rendered from the last good version of
//! a record whose file has since turned bad or vanished.
//!
//! An article is kept as read ([`ArticleSource`], the body Markdown) and
//! named by the hash of that; its body's HTML is made when it is first
//! asked for, and kept beside it (under a name derived from the source's
//! and this program's), so that it is made once per version.
//!
//! On disk it is one append-only pack file (`pack.rs`: its format, its
//! table of contents, compaction).

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::io;
use std::path::Path;
use std::sync::{Arc, RwLock};

mod pack;

use pack::Pack;

use super::record::ArticleSource;
use crate::model::Article;

/// The name of an article version: the first 128 bits of the BLAKE3 hash
/// of its source's serialised form.
pub type ArticleHash = [u8; 16];

/// Bytes of articles kept decoded in memory for re-rendering hot documents.
const RECENT_BUDGET: u64 = 16 * 1024 * 1024;

/// The pack file's name inside the state directory.
const PACK_FILE: &str = "articles.pack";

/// Where articles are kept.
pub struct ArticleStore {
    backend: Backend,
    /// Recently used articles, decoded; bounded by bytes.
    recent: moka::sync::Cache<ArticleHash, Arc<Article>>,
}

enum Backend {
    /// Nothing is kept: for `check`, which only reports.
    Discard,
    /// Every source in memory: for tests and when no state directory works.
    Memory(RwLock<FxHashMap<ArticleHash, Arc<ArticleSource>>>),
    /// The pack file.
    Pack(Pack),
}

/// Dead bytes below which the pack is not compacted: rewriting it would
/// cost more than the space is worth.
const COMPACT_AT_BYTES: u64 = 8 * 1024 * 1024;

impl ArticleStore {
    /// A store that keeps nothing.
    pub fn discard() -> ArticleStore {
        ArticleStore::with(Backend::Discard)
    }

    /// A store in memory only.
    pub fn memory() -> ArticleStore {
        ArticleStore::with(Backend::Memory(RwLock::default()))
    }

    /// Opens (or creates) the pack in `dir`.
    pub fn open(dir: &Path) -> io::Result<ArticleStore> {
        Ok(ArticleStore::with(Backend::Pack(Pack::open(
            &dir.join(PACK_FILE),
        )?)))
    }

    fn with(backend: Backend) -> ArticleStore {
        ArticleStore {
            backend,
            // Least recently used goes first: a build walks the articles
            // month by month, and moka's default (TinyLFU) turned most new
            // articles away once the cache was full, so each was read from
            // the pack three or four times (10 000 records: 35 317 reads,
            // with this 26 506).
            recent: moka::sync::Cache::builder()
                .eviction_policy(moka::policy::EvictionPolicy::lru())
                .max_capacity(RECENT_BUDGET)
                .weigher(|_, a: &Arc<Article>| weight(a))
                .build(),
        }
    }

    /// Keeps `source`; returns its name. Storing the same version twice
    /// stores it once.
    pub fn put(&self, source: &ArticleSource) -> ArticleHash {
        // Serialising plain data into a Vec cannot fail. The texts are
        // most of the bytes: a buffer of their size is not grown and copied.
        let texts = source.body.len() + source.article.title.len() + source.article.summary.len();
        let buffer = Vec::with_capacity(texts + source.base_url.len() + 256);
        let bytes = postcard::to_extend(source, buffer).unwrap_or_default();
        let hash = hash_of(&bytes);
        match &self.backend {
            Backend::Discard => {}
            Backend::Memory(map) => {
                let mut map = map.write().unwrap_or_else(|e| e.into_inner());
                map.entry(hash).or_insert_with(|| Arc::new(source.clone()));
            }
            Backend::Pack(pack) => {
                if let Err(e) = pack.append(hash, &bytes) {
                    tracing::error!("cannot write {}: {e}", pack.path.display());
                }
            }
        }
        hash
    }

    /// The article of that name, rendered, if the store has it intact.
    pub fn get(&self, hash: &ArticleHash) -> Option<Arc<Article>> {
        if let Some(article) = self.recent.get(hash) {
            return Some(article);
        }
        let article = match &self.backend {
            Backend::Discard => None,
            Backend::Memory(map) => {
                let source = map
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(hash)
                    .cloned()?;
                Some(Arc::unwrap_or_clone(source).render())
            }
            Backend::Pack(pack) => pack.rendered(hash).or_else(|| {
                let article = pack.source(hash)?.render();
                pack.keep_rendered(hash, &article);
                Some(article)
            }),
        }
        .map(Arc::new)?;
        self.recent.insert(*hash, Arc::clone(&article));
        Some(article)
    }

    /// Whether the store has a version of that name (without reading it).
    pub fn contains(&self, hash: &ArticleHash) -> bool {
        match &self.backend {
            Backend::Discard => false,
            Backend::Memory(map) => map
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .contains_key(hash),
            Backend::Pack(pack) => pack
                .slots()
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .at
                .contains_key(hash),
        }
    }

    /// Writes what was appended since the last flush: at the end of each
    /// reading, before the library that names it is saved.
    pub fn flush(&self) {
        if let Backend::Pack(pack) = &self.backend {
            let mut slots = pack.slots().write().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = pack.write_pending(&mut slots) {
                tracing::error!("cannot write {}: {e}", pack.path.display());
            }
        }
    }

    /// Drops every version not in `live` when that frees much space: the
    /// pack is rewritten beside the old one and renamed over it.
    pub fn compact(&self, live: &FxHashSet<ArticleHash>) {
        match &self.backend {
            Backend::Discard => {}
            Backend::Memory(map) => map
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|hash, _| live.contains(hash)),
            Backend::Pack(pack) => {
                // Rendered articles are named (a hash per record) only
                // when the sources alone leave enough dead to compact: at
                // a first start every version in the pack is live.
                if pack.dead_at_most(live) < COMPACT_AT_BYTES {
                    return;
                }
                let rendered = live.par_iter().map(rendered_name).collect::<Vec<_>>();
                let live: FxHashSet<ArticleHash> = live.iter().copied().chain(rendered).collect();
                if let Err(e) = pack.compact(&live) {
                    tracing::warn!("cannot compact {}: {e}", pack.path.display());
                }
            }
        }
    }
}

fn weight(article: &Article) -> u32 {
    (article.content_html.len() + article.summary.len() + 512).min(u32::MAX as usize) as u32
}

/// The name a source's rendered article is kept under: a new program
/// renders anew.
fn rendered_name(source: &ArticleHash) -> ArticleHash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"rendered");
    hasher.update(&super::program_hash());
    hasher.update(source);
    let mut hash = [0; 16];
    hash.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    hash
}

fn hash_of(bytes: &[u8]) -> ArticleHash {
    let full = blake3::hash(bytes);
    let mut hash = [0; 16];
    hash.copy_from_slice(&full.as_bytes()[..16]);
    hash
}

#[cfg(test)]
mod tests {
    use super::pack::{HEADER, TOC_EXTENSION};
    use super::*;
    use std::fs::{File, OpenOptions};
    use std::io::Write;
    use std::os::unix::fs::FileExt;
    use std::path::PathBuf;

    fn source(title: &str) -> ArticleSource {
        ArticleSource {
            article: Article {
                id: crate::model::ArticleId::new("a").unwrap(),
                title: title.to_owned(),
                published: chrono::DateTime::UNIX_EPOCH.fixed_offset(),
                updated: None,
                author: "x".to_owned(),
                categories: Vec::new(),
                summary: String::new(),
                content_html: String::new(),
                external_link: None,
                image: None,
                source: PathBuf::from("articles/a.md"),
            },
            body: "Text *betont*, [mehr](/mehr.html)\n".to_owned(),
            base_url: "https://www.werdau.de".to_owned(),
        }
    }

    /// Compaction at a start: a pack whose versions all are live (a
    /// first start) is left as it is; one that is mostly versions no
    /// record shows is rewritten with the live ones and their rendered
    /// articles.
    #[test]
    fn compaction_keeps_live_versions_and_drops_the_rest() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let pack = dir.path().join(PACK_FILE);
        let inode = || std::fs::metadata(&pack).unwrap().ino();
        let store = ArticleStore::open(dir.path()).unwrap();
        let big = |title: &str| ArticleSource {
            body: format!("{title} {}", "x".repeat(100_000)),
            ..source(title)
        };
        let all: Vec<ArticleHash> = (0..100)
            .map(|i| store.put(&big(&format!("alt {i}"))))
            .collect();
        store.flush();
        let before = (inode(), std::fs::metadata(&pack).unwrap().len());
        assert!(before.1 > 10_000_000, "{before:?}");
        store.compact(&all.iter().copied().collect());
        assert_eq!((inode(), std::fs::metadata(&pack).unwrap().len()), before);

        let live = store.put(&source("neu"));
        assert!(store.get(&live).is_some(), "rendered and kept");
        store.flush();
        store.compact(&FxHashSet::from_iter([live]));
        assert_ne!(inode(), before.0, "not rewritten");
        assert!(std::fs::metadata(&pack).unwrap().len() < 100_000);
        drop(store);
        let store = ArticleStore::open(dir.path()).unwrap();
        assert!(store.contains(&live) && store.contains(&rendered_name(&live)));
        assert!(!store.contains(&all[0]));
        assert_eq!(store.get(&live).unwrap().title, "neu");
    }

    #[test]
    fn pack_survives_reopen_torn_tail_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let (one, two) = {
            let store = ArticleStore::open(dir.path()).unwrap();
            (store.put(&source("eins")), store.put(&source("zwei")))
        };
        // A torn append after the two good records.
        let pack = dir.path().join(PACK_FILE);
        let mut file = OpenOptions::new().append(true).open(&pack).unwrap();
        file.write_all(&[7; 30]).unwrap();
        let store = ArticleStore::open(dir.path()).unwrap();
        // Rendered when first asked for: the body's HTML, the teaser.
        let article = store.get(&one).unwrap();
        assert_eq!(article.title, "eins");
        assert_eq!(
            article.content_html,
            "<p>Text <em>betont</em>, <a href=\"https://www.werdau.de/mehr.html\" rel=\"noopener noreferrer\">mehr</a></p>"
        );
        assert_eq!(article.summary, "Text betont, mehr");
        assert_eq!(store.get(&two).unwrap().title, "zwei");
        let three = store.put(&source("drei"));
        assert_eq!(store.get(&three).unwrap().title, "drei");
        // Appended, not yet written: read from memory, written at the end.
        let pack_len = || std::fs::metadata(&pack).unwrap().len();
        let before = pack_len();
        let four = store.put(&source("vier"));
        assert_eq!(pack_len(), before);
        assert_eq!(store.get(&four).unwrap().title, "vier");
        store.flush();
        assert!(pack_len() > before);
        drop(store);
        assert_eq!(
            ArticleStore::open(dir.path())
                .unwrap()
                .get(&four)
                .unwrap()
                .title,
            "vier"
        );

        // A damaged rendered copy is rendered again from the source.
        let damage = |name: &ArticleHash| {
            let (offset, _) = ArticleStore::open(dir.path()).unwrap().backend_slot(name);
            let file = OpenOptions::new().write(true).open(&pack).unwrap();
            file.write_all_at(b"X", offset + 18).unwrap();
        };
        damage(&rendered_name(&one));
        let reopened = ArticleStore::open(dir.path()).unwrap();
        assert_eq!(reopened.get(&one).unwrap(), article);
        // (One store per pack at a time: this one writes its new copy now.)
        drop(reopened);
        // A damaged source with an intact rendered copy still serves; with
        // both damaged the article reads as missing, not as garbage.
        damage(&one);
        let reopened = ArticleStore::open(dir.path()).unwrap();
        assert_eq!(reopened.get(&one).unwrap(), article);
        drop(reopened);
        damage(&rendered_name(&one));
        let reopened = ArticleStore::open(dir.path()).unwrap();
        assert!(reopened.get(&one).is_none());
        assert_eq!(reopened.get(&two).unwrap().title, "zwei");
    }

    #[test]
    fn records_the_disk_refuses_read_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArticleStore::open(dir.path()).unwrap();
        let one = store.put(&source("eins"));
        store.flush();
        // From now on every write fails, as on a full disk.
        let Backend::Pack(pack) = &store.backend else {
            unreachable!()
        };
        *pack.file.write().unwrap() = File::open(dir.path().join(PACK_FILE)).unwrap();
        let two = store.put(&source("zwei"));
        store.flush();
        assert!(store.get(&two).is_none());
        assert!(pack.slots().read().unwrap().pending.is_empty());
        assert_eq!(store.get(&one).unwrap().title, "eins");
    }

    impl ArticleStore {
        fn backend_slot(&self, hash: &ArticleHash) -> (u64, u32) {
            match &self.backend {
                Backend::Pack(pack) => pack.slots().read().unwrap().at[hash],
                _ => unreachable!(),
            }
        }
    }

    /// The table of contents says where each record is, so that a pack
    /// is opened without reading its headers; one that does not match the
    /// pack (another pack's, cut, shorter) is scanned past and rewritten.
    #[test]
    fn the_table_of_contents_follows_the_pack_and_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let toc = dir.path().join(PACK_FILE).with_extension(TOC_EXTENSION);
        let names: Vec<String> = (0..6).map(|n| format!("Meldung {n}")).collect();
        let hashes: Vec<ArticleHash> = {
            let store = ArticleStore::open(dir.path()).unwrap();
            names.iter().map(|n| store.put(&source(n))).collect()
        };
        assert_eq!(std::fs::read(&toc).unwrap().len(), 6 * HEADER as usize);
        let all_readable = || {
            let store = ArticleStore::open(dir.path()).unwrap();
            for (hash, name) in hashes.iter().zip(&names) {
                assert_eq!(&store.get(hash).unwrap().title, name);
            }
        };
        // Read once, each is rendered and its rendered copy kept too.
        all_readable();
        let table = std::fs::read(&toc).unwrap();
        assert_eq!(table.len(), 12 * HEADER as usize);
        all_readable();
        assert_eq!(std::fs::read(&toc).unwrap(), table, "as it was");
        // Another order of the same headers: the last one is not where
        // the table says, so the pack is scanned.
        let mut shifted = table.clone();
        shifted.rotate_left(HEADER as usize);
        for wrong in [
            shifted,
            [&table[..], &table[..HEADER as usize]].concat(),
            table[..2 * HEADER as usize].to_vec(),
            b"kaputt".to_vec(),
            Vec::new(),
        ] {
            std::fs::write(&toc, &wrong).unwrap();
            all_readable();
            assert_eq!(std::fs::read(&toc).unwrap(), table, "written anew");
        }
        std::fs::remove_file(&toc).unwrap();
        all_readable();
        assert_eq!(std::fs::read(&toc).unwrap(), table, "written anew");
        // Compacted: the table names what is left, in the new places.
        let store = ArticleStore::open(dir.path()).unwrap();
        let live: FxHashSet<ArticleHash> = hashes[3..]
            .iter()
            .flat_map(|hash| [*hash, rendered_name(hash)])
            .collect();
        if let Backend::Pack(pack) = &store.backend {
            // (Compacted whatever it frees.)
            pack.compact_now(&live).unwrap();
        }
        drop(store);
        let kept: Vec<u8> = table
            .chunks_exact(HEADER as usize)
            .filter(|header| live.iter().any(|hash| header[..16] == hash[..]))
            .flatten()
            .copied()
            .collect();
        assert_eq!(kept.len(), 6 * HEADER as usize);
        assert_eq!(std::fs::read(&toc).unwrap(), kept);
        let store = ArticleStore::open(dir.path()).unwrap();
        for (hash, name) in hashes[3..].iter().zip(&names[3..]) {
            assert_eq!(&store.get(hash).unwrap().title, name);
        }
        assert!(store.get(&hashes[0]).is_none());
    }
}
