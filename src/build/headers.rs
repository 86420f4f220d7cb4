//! What a static host needs to send the headers `serve` sends: a
//! `_headers` file (the format Netlify and Cloudflare Pages read) and an
//! nginx snippet, both written beside the site by `build`.
//!
//! `_headers` names each document with its `Content-Type` and
//! `Cache-Control`, but article pages and media files as one rule each:
//! every article page is HTML with the site's `max-age`, every media file
//! has the long `Cache-Control` and the type its bytes say (which hosts
//! give by extension). So a build makes no rule for each of 100 000 pages
//! (`tests/static_hosts.rs` checks every document's rule against `serve`).
//!
//! The nginx snippet is short: types by extension, the site's `max-age`
//! by default, and the long `Cache-Control` for media and
//! for every month of a feed but its newest (the archives of finished
//! months and their pages). It leaves out one refinement of `serve`: the
//! full earlier parts of the newest month's archive keep the short one.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

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

/// The documents that need a rule of their own, and which of the two
/// folder rules the site needs.
#[derive(Debug, Default)]
pub struct Rules {
    /// Every document but article pages, and the media files whose type
    /// is not the one their extension gives.
    pub own: Vec<Rule>,
    /// The rule of the first article page, which all share (`/artikel/*`).
    pub article: Option<Rule>,
    /// The rule of the first media file, whose `Cache-Control` all share
    /// (`/media/*`).
    pub media: Option<Rule>,
}

impl Rules {
    /// The rules of the documents `keys` of `index`.
    pub fn of(keys: &[DocKey], index: &Index) -> Rules {
        let first = |kind: fn(&DocKey) -> bool| {
            keys.iter()
                .find(|key| kind(key))
                .map(|key| Rule::of(key, index))
        };
        let article = first(|key| matches!(key, DocKey::Article(_)));
        let media = first(|key| matches!(key, DocKey::Media(_)));
        let own = keys
            .par_iter()
            .filter(|key| match key {
                DocKey::Article(_) => false,
                DocKey::Media(path) => {
                    by_extension(path) != Some(crate::site::content_type_of(index, key))
                }
                _ => true,
            })
            .map(|key| Rule::of(key, index))
            .collect();
        Rules {
            own,
            article,
            media,
        }
    }
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
    rules: &Rules,
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

/// The `_headers` text: the folder rules, then per path its headers, in
/// the order of `rules`.
pub fn headers_file(rules: &Rules) -> String {
    let mut text = String::from(
        "# The headers of stadtfeed serve, for Netlify and Cloudflare Pages.\n\
         # Written by `stadtfeed build`; rewritten on every build.\n",
    );
    if let Some(rule) = &rules.article {
        let _ = writeln!(
            text,
            "/artikel/*\n  Content-Type: {}\n  Cache-Control: {}",
            rule.content_type, rule.cache_control
        );
    }
    // Media types follow the file's extension on every host.
    if let Some(rule) = &rules.media {
        let _ = writeln!(text, "/media/*\n  Cache-Control: {}", rule.cache_control);
    }
    for rule in rules.own.iter().filter(|r| !r.path.starts_with("/media/")) {
        let _ = writeln!(
            text,
            "{}\n  Content-Type: {}\n  Cache-Control: {}",
            rule.path, rule.content_type, rule.cache_control
        );
    }
    text
}

/// The nginx snippet for a `server` block whose `root` is the built folder.
pub fn nginx_snippet(index: &Index, rules: &Rules) -> String {
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
    for rule in rules.own.iter().filter(|r| !r.text) {
        if by_extension(&rule.path) != Some(rule.content_type.as_str()) {
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

/// The type nginx gives a path by its extension, if it knows it.
fn by_extension(path: &str) -> Option<&'static str> {
    let (_, extension) = path.rsplit_once('.')?;
    EXTENSION_TYPES
        .iter()
        .find(|(known, _)| extension.eq_ignore_ascii_case(known))
        .map(|(_, mime)| *mime)
}
