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
//! On disk it is one append-only pack file (`articles.pack`) of records
//! `[name: 16][length: u32 LE][payload]`: a source's payload is its
//! postcard bytes, which hash to its name; a rendered article's is the hash
//! of its postcard bytes, then those bytes. A torn tail (a crash while
//! appending) is cut off when the pack is opened; a record whose bytes do
//! not match their hash is treated as missing, so the caller reads the
//! record file again (or renders the source again) instead of trusting a
//! damaged copy.
//!
//! Beside it, `articles.toc` repeats the pack's record headers in order,
//! so that opening a pack of 100 000 records reads one small file instead
//! of 100 000 headers spread over 400 MB. It is only a shortcut: what it
//! names beyond the pack's end, or a last header the pack does not have at
//! that place, makes the pack be scanned instead, and the table is
//! written anew from the scan.

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::thread::JoinHandle;

use super::record::ArticleSource;
use crate::model::Article;
use crate::state::write_whole;

/// The name of an article version: the first 128 bits of the BLAKE3 hash
/// of its source's serialised form.
pub type ArticleHash = [u8; 16];

/// Bytes of articles kept decoded in memory for re-rendering hot documents.
const RECENT_BUDGET: u64 = 16 * 1024 * 1024;

/// The pack file's name inside the state directory.
const PACK_FILE: &str = "articles.pack";

/// The extension of the pack's table of contents, beside it.
const TOC_EXTENSION: &str = "toc";

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

struct Pack {
    path: PathBuf,
    file: RwLock<File>,
    /// Where each record is, once the scan begun by [`Pack::open`] is done:
    /// the first use waits for it, so a caller that reads the saved library
    /// meanwhile does not wait for 100 000 headers to be read.
    slots: OnceLock<RwLock<Slots>>,
    /// The scan under way, until the first use takes its result.
    scan: Mutex<Option<JoinHandle<Slots>>>,
    /// The table of contents (`articles.toc`), appended to as the pack
    /// is; `None` once it could not be, until the next open writes it anew.
    toc: Mutex<Option<File>>,
}

/// The pack's table of contents.
#[derive(Default)]
struct Slots {
    /// Where each record's payload is: offset and length.
    at: FxHashMap<ArticleHash, (u64, u32)>,
    /// End of the pack, where the next record goes.
    end: u64,
    /// Records appended after `written`, not yet in the file: written in
    /// one piece when they reach [`PENDING_BYTES`] or at a
    /// [`flush`](ArticleStore::flush), instead of 100 000 small writes at
    /// a first start.
    pending: Vec<u8>,
    /// Where the file ends.
    written: u64,
}

impl Slots {
    /// The bytes the records named in `live` take in the pack, headers
    /// included.
    fn bytes_of(&self, live: &FxHashSet<ArticleHash>) -> u64 {
        self.at
            .iter()
            .filter(|(hash, _)| live.contains(*hash))
            .map(|(_, (_, size))| HEADER + u64::from(*size))
            .sum()
    }

    /// Takes in the record whose `header` is at the end, if the pack (of
    /// `len` bytes) holds all of it; notes the header in `headers`.
    fn take(&mut self, header: &[u8], len: u64, headers: &mut Vec<u8>) -> bool {
        let size = header_size(header);
        if self.end + HEADER + u64::from(size) > len {
            return false;
        }
        let mut hash = [0; 16];
        hash.copy_from_slice(&header[..16]);
        self.at.insert(hash, (self.end + HEADER, size));
        self.end += HEADER + u64::from(size);
        headers.extend_from_slice(&header[..HEADER as usize]);
        true
    }
}

/// The header of a record in the pack: its name, then its payload length.
fn header_of(name: &ArticleHash, size: u32) -> [u8; HEADER as usize] {
    let mut header = [0; HEADER as usize];
    header[..16].copy_from_slice(name);
    header[16..].copy_from_slice(&size.to_le_bytes());
    header
}

/// The payload length a record header names.
fn header_size(header: &[u8]) -> u32 {
    u32::from_le_bytes([header[16], header[17], header[18], header[19]])
}

/// Bytes of records kept before they are written.
const PENDING_BYTES: usize = 1024 * 1024;

const HEADER: u64 = 20;

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

impl Drop for Pack {
    fn drop(&mut self) {
        if let Some(slots) = self.slots.get_mut() {
            let mut slots = std::mem::take(slots.get_mut().unwrap_or_else(|e| e.into_inner()));
            if let Err(e) = self.write_pending(&mut slots) {
                tracing::error!("cannot write {}: {e}", self.path.display());
            }
        }
    }
}

impl Pack {
    fn open(path: &Path) -> io::Result<Pack> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let pack = Pack {
            path: path.to_path_buf(),
            slots: OnceLock::new(),
            scan: Mutex::new(None),
            file: RwLock::new(file.try_clone()?),
            toc: Mutex::new(None),
        };
        let scanning = path.to_path_buf();
        let scan = std::thread::Builder::new()
            .name("pack scan".into())
            .spawn(move || Pack::scan(&scanning, &file));
        match scan {
            Ok(scan) => *pack.scan.lock().unwrap_or_else(|e| e.into_inner()) = Some(scan),
            Err(_) => {
                let file = pack.file.read().unwrap_or_else(|e| e.into_inner());
                let _ = pack.slots.set(RwLock::new(Pack::scan(path, &file)));
            }
        }
        Ok(pack)
    }

    /// Reads the header of every record. A torn tail (a crash while
    /// appending) is cut off: its record is read again from its file. When
    /// the pack cannot be read, what was found so far is kept and new
    /// records go after the end.
    fn scan(path: &Path, file: &File) -> Slots {
        let started = std::time::Instant::now();
        let toc = std::fs::read(path.with_extension(TOC_EXTENSION)).ok();
        let (slots, headers) = Pack::scan_headers(path, file, toc.as_deref().unwrap_or_default());
        // Written anew when missing, or when it did not say all of the
        // pack, or more.
        if toc.as_ref() != Some(&headers) {
            let table = path.with_extension(TOC_EXTENSION);
            if let Err(e) = write_whole(&table, &headers) {
                tracing::warn!("cannot write {}: {e}", table.display());
                // Not appended to while it does not match the pack.
                let _ = std::fs::remove_file(&table);
            }
        }
        tracing::debug!(
            elapsed = ?started.elapsed(),
            articles = slots.at.len(),
            from_table = toc.map_or(0, |t| t.len()) / HEADER as usize,
            "article pack scanned"
        );
        slots
    }

    /// The slots of the pack, and its headers in order: those of `toc` the
    /// pack has, then those read from the pack after them.
    fn scan_headers(path: &Path, file: &File, toc: &[u8]) -> (Slots, Vec<u8>) {
        let mut slots = Slots::default();
        let len = match file.metadata() {
            Ok(meta) => meta.len(),
            Err(e) => {
                tracing::warn!("cannot read {}: {e}", path.display());
                return (slots, Vec::new());
            }
        };
        let mut headers = Vec::with_capacity(toc.len() + 4096);
        let mut header = [0u8; HEADER as usize];
        let mut last = None;
        for listed in toc.chunks_exact(HEADER as usize) {
            let at = slots.end;
            if !slots.take(listed, len, &mut headers) {
                break;
            }
            last = Some((at, listed));
        }
        // The table is believed if the pack has its last header where it
        // says (a damaged payload is caught by its hash when read).
        let believed = last.is_none_or(|(at, listed)| {
            file.read_exact_at(&mut header, at).is_ok() && header[..] == *listed
        });
        if !believed {
            slots = Slots::default();
            headers.clear();
        }
        while slots.end + HEADER <= len {
            if let Err(e) = file.read_exact_at(&mut header, slots.end) {
                tracing::warn!("cannot read {}: {e}", path.display());
                slots.end = len;
                slots.written = len;
                return (slots, headers);
            }
            if !slots.take(&header, len, &mut headers) {
                break;
            }
        }
        if slots.end < len {
            if let Err(e) = file.set_len(slots.end) {
                tracing::warn!("cannot cut the torn end of {}: {e}", path.display());
                slots.end = len;
            }
        }
        slots.written = slots.end;
        (slots, headers)
    }

    /// The table of contents, once the scan is done.
    fn slots(&self) -> &RwLock<Slots> {
        self.slots.get_or_init(|| {
            let scan = self.scan.lock().unwrap_or_else(|e| e.into_inner()).take();
            // The scan never panics; if it did, the pack is treated as
            // unreadable and grows from its end.
            RwLock::new(scan.and_then(|s| s.join().ok()).unwrap_or_else(|| {
                let end = self
                    .file
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .metadata()
                    .map_or(0, |m| m.len());
                Slots {
                    end,
                    written: end,
                    ..Slots::default()
                }
            }))
        })
    }

    fn append(&self, hash: ArticleHash, bytes: &[u8]) -> io::Result<()> {
        if self
            .slots()
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .at
            .contains_key(&hash)
        {
            return Ok(());
        }
        self.write_record(hash, bytes)
    }

    /// Appends a record named `name`; a later one replaces an earlier one.
    fn write_record(&self, name: ArticleHash, bytes: &[u8]) -> io::Result<()> {
        let size = u32::try_from(bytes.len()).map_err(|_| io::Error::other("article too large"))?;
        let mut slots = self.slots().write().unwrap_or_else(|e| e.into_inner());
        let end = slots.end;
        slots.pending.extend_from_slice(&header_of(&name, size));
        slots.pending.extend_from_slice(bytes);
        slots.at.insert(name, (end + HEADER, size));
        slots.end += HEADER + u64::from(size);
        if slots.pending.len() >= PENDING_BYTES {
            self.write_pending(&mut slots)?;
        }
        Ok(())
    }

    /// Writes the pending records to the file. If that fails (a full
    /// disk), they are dropped and read as missing, as if never stored: the
    /// caller reads their record files again, and memory does not grow
    /// with what the disk refuses.
    fn write_pending(&self, slots: &mut Slots) -> io::Result<()> {
        if slots.pending.is_empty() {
            return Ok(());
        }
        let file = self.file.read().unwrap_or_else(|e| e.into_inner());
        let written = file.write_all_at(&slots.pending, slots.written);
        if written.is_ok() {
            slots.written += slots.pending.len() as u64;
            self.extend_toc(&slots.pending);
        } else {
            let end = slots.written;
            slots.at.retain(|_, (offset, _)| *offset < end);
            slots.end = end;
        }
        slots.pending.clear();
        written
    }

    /// Appends the headers of `records` (as written to the pack) to the
    /// table of contents. If that fails, the table is removed: the next
    /// open scans the pack and writes it anew.
    fn extend_toc(&self, records: &[u8]) {
        let mut headers = Vec::new();
        let mut rest = records;
        while rest.len() >= HEADER as usize {
            let size = header_size(rest) as usize;
            headers.extend_from_slice(&rest[..HEADER as usize]);
            rest = rest.get(HEADER as usize + size..).unwrap_or_default();
        }
        let mut toc = self.toc.lock().unwrap_or_else(|e| e.into_inner());
        if toc.is_none() {
            let opened = OpenOptions::new()
                .append(true)
                .open(self.path.with_extension(TOC_EXTENSION));
            *toc = opened.ok();
        }
        if let Some(file) = toc.as_mut() {
            if file.write_all(&headers).is_err() {
                *toc = None;
                let _ = std::fs::remove_file(self.path.with_extension(TOC_EXTENSION));
            }
        }
    }

    /// The payload of the record named `name`, if there is one.
    fn payload(&self, name: &ArticleHash) -> Option<Vec<u8>> {
        let slots = self.slots().read().unwrap_or_else(|e| e.into_inner());
        let (offset, size) = *slots.at.get(name)?;
        if offset >= slots.written {
            let start = usize::try_from(offset - slots.written).ok()?;
            return slots
                .pending
                .get(start..start + size as usize)
                .map(<[u8]>::to_vec);
        }
        drop(slots);
        let mut bytes = vec![0; size as usize];
        let file = self.file.read().unwrap_or_else(|e| e.into_inner());
        file.read_exact_at(&mut bytes, offset).ok()?;
        Some(bytes)
    }

    fn damaged(&self) {
        tracing::warn!(
            "{}: a damaged article; reading it again",
            self.path.display()
        );
    }

    /// The source named `hash`, if intact.
    fn source(&self, hash: &ArticleHash) -> Option<ArticleSource> {
        let bytes = self.payload(hash)?;
        if hash_of(&bytes) != *hash {
            self.damaged();
            return None;
        }
        postcard::from_bytes(&bytes).ok()
    }

    /// The article rendered from the source named `hash`, if kept intact.
    fn rendered(&self, hash: &ArticleHash) -> Option<Article> {
        let bytes = self.payload(&rendered_name(hash))?;
        let (check, article) = bytes.split_at_checked(16)?;
        if hash_of(article) != check {
            self.damaged();
            return None;
        }
        postcard::from_bytes(article).ok()
    }

    /// Keeps `article`, rendered from the source named `hash`.
    fn keep_rendered(&self, hash: &ArticleHash, article: &Article) {
        let bytes = postcard::to_stdvec(article).unwrap_or_default();
        let mut payload = Vec::with_capacity(bytes.len() + 16);
        payload.extend_from_slice(&hash_of(&bytes));
        payload.extend_from_slice(&bytes);
        // Asked for only when absent or damaged: written in either case.
        if let Err(e) = self.write_record(rendered_name(hash), &payload) {
            tracing::error!("cannot write {}: {e}", self.path.display());
        }
    }

    /// The bytes of the pack taken by versions not in `live`, counting
    /// every rendered article as dead: more than a compaction can free.
    fn dead_at_most(&self, live: &FxHashSet<ArticleHash>) -> u64 {
        let slots = self.slots().read().unwrap_or_else(|e| e.into_inner());
        slots.end.saturating_sub(slots.bytes_of(live))
    }

    fn compact(&self, live: &FxHashSet<ArticleHash>) -> io::Result<()> {
        let mut slots = self.slots().write().unwrap_or_else(|e| e.into_inner());
        self.write_pending(&mut slots)?;
        let live_bytes = slots.bytes_of(live);
        let dead = slots.end.saturating_sub(live_bytes);
        if dead < COMPACT_AT_BYTES || dead < live_bytes {
            return Ok(());
        }
        self.rewrite(&mut slots, live)?;
        tracing::info!(freed = dead, "compacted the article store");
        Ok(())
    }

    /// Compacts whatever that frees (for tests).
    #[cfg(test)]
    fn compact_now(&self, live: &FxHashSet<ArticleHash>) -> io::Result<()> {
        let mut slots = self.slots().write().unwrap_or_else(|e| e.into_inner());
        self.write_pending(&mut slots)?;
        self.rewrite(&mut slots, live)
    }

    /// Writes a pack of the `live` records beside this one and renames it
    /// over it.
    fn rewrite(&self, slots: &mut Slots, live: &FxHashSet<ArticleHash>) -> io::Result<()> {
        let mut file = self.file.write().unwrap_or_else(|e| e.into_inner());
        let temporary = self.path.with_extension("pack.new");
        let mut out = io::BufWriter::new(File::create(&temporary)?);
        let mut new_slots = FxHashMap::default();
        let mut headers = Vec::new();
        let mut offset = 0;
        let mut ordered: Vec<_> = slots.at.iter().filter(|(h, _)| live.contains(*h)).collect();
        ordered.sort_by_key(|(_, (at, _))| *at);
        for (hash, (at, size)) in ordered {
            let mut bytes = vec![0; *size as usize];
            file.read_exact_at(&mut bytes, *at)?;
            let header = header_of(hash, *size);
            out.write_all(&header)?;
            out.write_all(&bytes)?;
            headers.extend_from_slice(&header);
            new_slots.insert(*hash, (offset + HEADER, *size));
            offset += HEADER + u64::from(*size);
        }
        out.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .sync_all()?;
        // The old table goes first: a crash between the two renames leaves
        // a pack without one, which is scanned.
        let toc = self.path.with_extension(TOC_EXTENSION);
        *self.toc.lock().unwrap_or_else(|e| e.into_inner()) = None;
        match std::fs::remove_file(&toc) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        std::fs::rename(&temporary, &self.path)?;
        *file = OpenOptions::new().read(true).write(true).open(&self.path)?;
        if let Err(e) = write_whole(&toc, &headers) {
            tracing::warn!("cannot write {}: {e}", toc.display());
        }
        *slots = Slots {
            at: new_slots,
            end: offset,
            pending: Vec::new(),
            written: offset,
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
