//! What a static host needs to send the headers `serve` sends: a
//! `_headers` file (the format Netlify and Cloudflare Pages read) and an
//! nginx snippet, both written beside the site by `build`.
//!
//! `_headers` names each document with its `Content-Type` and
//! `Cache-Control` (article pages and media files as one rule each, since
//! they share them). The nginx snippet is short: types by extension, the
//! site's `max-age` by default, and the long `Cache-Control` for media and
//! for every month of a feed but its newest (the archives of finished
//! months and their pages). It leaves out one refinement of `serve`: the
//! full earlier parts of the newest month's archive keep the short one.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::index::Index;
use crate::site::key::DocKey;
use crate::site::LONG_CACHE;

/// The name of the Netlify / Cloudflare Pages file.
pub const HEADERS_FILE: &str = "_headers";
/// The name of the nginx snippet.
pub const NGINX_FILE: &str = "nginx-stadtfeed.conf";

/// One document's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The path as linked, with a leading slash (`/artikel/x/`).
    pub path: String,
    /// `Content-Type`.
    pub content_type: String,
    /// `Cache-Control`.
    pub cache_control: String,
    /// Whether it is a text document (not an image).
    pub text: bool,
}

/// The types nginx gives by extension; images whose bytes say otherwise
/// (a PNG named `.jpg`, a PNG logo as `favicon.ico`) get a rule of their own.
const EXTENSION_TYPES: [(&str, &str); 14] = [
    ("html", "text/html"),
    ("rss", "application/rss+xml"),
    ("atom", "application/atom+xml"),
    ("json", "application/feed+json"),
    ("opml", "text/x-opml"),
    ("xml", "application/xml"),
    ("txt", "text/plain"),
    ("ico", "image/x-icon"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("avif", "image/avif"),
];

impl Rule {
    /// The headers `serve` sends for `key`.
    pub fn of(key: &DocKey, index: &Index) -> Rule {
        Rule {
            path: format!("/{}", key.link_path()),
            content_type: crate::site::content_type_of(index, key).to_owned(),
            cache_control: crate::site::cache_control_of(index, key),
            text: key.is_text(),
        }
    }
}

/// Writes `_headers` and the nginx snippet under `out`, each only when
/// its bytes changed; an error names the file.
pub fn write_files(
    index: &Index,
    out: &Path,
    rules: &[Rule],
) -> Result<(), (PathBuf, std::io::Error)> {
    for (name, text) in [
        (HEADERS_FILE, headers_file(rules)),
        (NGINX_FILE, nginx_snippet(index, rules)),
    ] {
        let file = out.join(name);
        if std::fs::read(&file).is_ok_and(|existing| existing == text.as_bytes()) {
            continue;
        }
        super::write_whole(&file, text.as_bytes()).map_err(|e| (file, e))?;
    }
    Ok(())
}

/// The `_headers` text: per path (or folder of alike documents) its
/// headers, in the order of `rules`.
pub fn headers_file(rules: &[Rule]) -> String {
    let mut text = String::from(
        "# The headers of stadtfeed serve, for Netlify and Cloudflare Pages.\n\
         # Written by `stadtfeed build`; rewritten on every build.\n",
    );
    // Folders whose documents share their headers become one rule.
    let mut grouped_folders = Vec::new();
    for folder in ["/artikel/", "/media/"] {
        let mut inside = rules.iter().filter(|r| r.path.starts_with(folder));
        let Some(first) = inside.next() else {
            continue;
        };
        let same_cache = inside
            .clone()
            .all(|r| r.cache_control == first.cache_control);
        let same_type = inside.all(|r| r.content_type == first.content_type);
        if !same_cache {
            continue;
        }
        let _ = writeln!(text, "{folder}*");
        // Media types follow the file's extension on every host.
        if same_type && folder != "/media/" {
            let _ = writeln!(text, "  Content-Type: {}", first.content_type);
        }
        let _ = writeln!(text, "  Cache-Control: {}", first.cache_control);
        grouped_folders.push(folder);
    }
    let grouped = |rule: &Rule| grouped_folders.iter().any(|f| rule.path.starts_with(f));
    for rule in rules.iter().filter(|r| !grouped(r)) {
        let _ = writeln!(
            text,
            "{}\n  Content-Type: {}\n  Cache-Control: {}",
            rule.path, rule.content_type, rule.cache_control
        );
    }
    text
}

/// The nginx snippet for a `server` block whose `root` is the built folder.
pub fn nginx_snippet(index: &Index, rules: &[Rule]) -> String {
    let short = format!("public, max-age={}", index.config().max_age);
    let types: String = EXTENSION_TYPES
        .iter()
        .map(|(extension, mime)| format!("    {mime} {extension};\n"))
        .collect();
    let mut text = format!(
        r#"# The headers of stadtfeed serve for nginx serving this folder.
# Written by `stadtfeed build`; rewritten on every build. In the server block:
#     root /path/to/this/folder;
#     include /path/to/this/folder/{NGINX_FILE};
index index.html;
charset utf-8;
charset_types text/plain application/xml application/rss+xml application/atom+xml application/feed+json text/x-opml;
types {{
{types}}}
# The .gz files of `stadtfeed build --precompress`; with the ngx_brotli
# module, brotli_static serves the .br files too.
gzip_static on;
gzip_vary on;
error_page 404 /404.html;
add_header Cache-Control "{short}";
location = /{HEADERS_FILE} {{ return 404; }}
location = /{NGINX_FILE} {{ return 404; }}
location ^~ /media/ {{ add_header Cache-Control "{LONG_CACHE}"; }}
"#
    );
    for rule in rules.iter().filter(|r| !r.text) {
        let by_extension = rule
            .path
            .rsplit_once('.')
            .and_then(|(_, ext)| {
                EXTENSION_TYPES
                    .iter()
                    .find(|(e, _)| ext.eq_ignore_ascii_case(e))
            })
            .map(|(_, mime)| *mime);
        if by_extension != Some(rule.content_type.as_str()) {
            let _ = writeln!(
                text,
                "location = {} {{ types {{ }} default_type \"{}\"; add_header Cache-Control \"{}\"; }}",
                rule.path, rule.content_type, rule.cache_control
            );
        }
    }
    // Every month of a feed but its newest is finished.
    for scope in index.scopes() {
        let Some(newest) = index.feed(scope).and_then(|f| f.newest_archive()) else {
            continue;
        };
        let has_older = index
            .feed(scope)
            .is_some_and(|f| f.months().next().is_some_and(|(m, _)| m < newest.month));
        if !has_older {
            continue;
        }
        let _ = writeln!(
            text,
            "location ~ \"^/{}archiv/(?!{}/)[0-9]{{4}}/[0-9]{{2}}/\" {{ add_header Cache-Control \"{LONG_CACHE}\"; }}",
            scope.dir(),
            newest.month.path()
        );
    }
    text
}
