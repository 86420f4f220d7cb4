//! Past one server, checked with nginx (Debian's): the built folder with
//! its `nginx-stadtfeed.conf` sends `serve`'s headers (and the `.gz`
//! files of `--precompress`); `_headers` says the same; and two `serve`
//! replicas behind an nginx `upstream` answer a poller's conditional GETs
//! with 304 whichever one it reaches, before and after an edit.
//!
//! `.ci/run` installs nginx and sets `STADTFEED_REQUIRE_NGINX=1`;
//! elsewhere these tests say they skipped when nginx is not installed.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::server::Running;

fn nginx() -> Option<PathBuf> {
    let found = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("STADTFEED_REQUIRE_NGINX").is_none(),
            "nginx is required (STADTFEED_REQUIRE_NGINX) but not installed"
        );
        eprintln!("skipped: nginx is not installed (apt-get install nginx-light)");
    }
    found
}

/// nginx in the foreground with `server` as its only server block, until
/// dropped.
struct Nginx {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(binary: &Path, http_extra: &str, server: &str) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let d = dir.path().display();
        // One process, stopped with the test (no orphaned workers).
        let config = format!(
            "master_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
             {http_extra}\n server {{\n  listen {addr};\n{server}\n }}\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), config).unwrap();
        let child = Command::new(binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nginx did not start: {}",
                std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx {
            child,
            addr,
            _dir: dir,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One GET through a fresh connection: status, headers (lower-case names), body.
fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .get("transfer-encoding")
        .is_some_and(|t| t == "chunked")
    {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..line_end]).unwrap().trim(), 16)
            .unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[line_end + 2..line_end + 2 + size]);
        raw = &raw[line_end + 2 + size + 2..];
    }
}

struct Reply {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
}

/// A copy of the shipped content, readable by nginx's workers.
fn readable_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Copies `from` into `to` (created) with the modification times of every
/// file and folder, as `rsync -t` or `cp -p` do.
fn mirror(from: &Path, to: &Path) {
    let entries: Vec<_> = walkdir::WalkDir::new(from)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for entry in &entries {
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
    // Times last, deepest first, so that copying does not move them again.
    for entry in entries.iter().rev() {
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        let modified = entry.metadata().unwrap().modified().unwrap();
        let file = std::fs::File::open(&target).unwrap();
        file.set_modified(modified).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nginx_with_the_snippet_sends_the_headers_serve_sends() {
    let Some(nginx) = nginx() else { return };
    let feeds = common::shipped_feeds();
    let root = readable_tempdir();
    let out = root.path().join("site");
    common::build_site(&feeds, &out, &["--precompress"]);
    let server = Running::start(&feeds).await;
    let web = Nginx::start(
        &nginx,
        "",
        &format!(
            "  root {};\n  include {}/nginx-stadtfeed.conf;",
            out.display(),
            out.display()
        ),
    );
    let documents: Vec<String> = walkdir::WalkDir::new(&out)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(&out)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|p| !p.ends_with(".gz") && !p.ends_with(".br") && !p.starts_with('_'))
        .filter(|p| p != "nginx-stadtfeed.conf")
        .collect();
    assert!(documents.len() > 100);
    let headers_file = std::fs::read_to_string(out.join("_headers")).unwrap();
    let rules = parse_headers_file(&headers_file);
    for path in &documents {
        let url = format!("/{}", path.strip_suffix("index.html").unwrap_or(path));
        let ours = server.get(&url, &[]).await;
        let theirs = get(web.addr, &url, &[]);
        assert_eq!(theirs.status, 200, "{url}");
        assert_eq!(theirs.body, ours.body.to_vec(), "{url}: bytes");
        for name in ["content-type", "cache-control"] {
            assert_eq!(theirs.header(name), ours.header(name), "{url}: {name}");
        }
        // _headers: the rule for this path (or its folder) says the same.
        let rule = rules
            .iter()
            .find(|(pattern, _)| {
                pattern == &url
                    || pattern
                        .strip_suffix('*')
                        .is_some_and(|folder| url.starts_with(folder))
            })
            .unwrap_or_else(|| panic!("{url}: no rule in _headers"));
        for (name, value) in &rule.1 {
            assert_eq!(value, ours.header(name), "{url}: _headers {name}");
        }
        if !path.starts_with("media/") && path != "favicon.ico" {
            let zipped = get(web.addr, &url, &[("Accept-Encoding", "gzip")]);
            assert_eq!(zipped.header("content-encoding"), "gzip", "{url}");
            assert_eq!(
                common::server::gunzip(&zipped.body),
                ours.body.to_vec(),
                "{url}"
            );
        }
    }
    assert_eq!(get(web.addr, "/gibt-es-nicht", &[]).status, 404);
    assert_eq!(get(web.addr, "/_headers", &[]).status, 404);
    server.stop().await;
}

/// `_headers` as (path pattern, [(header, value)]), names in lower case.
fn parse_headers_file(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut rules: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        if let Some(header) = line.strip_prefix("  ") {
            let (name, value) = header.split_once(": ").unwrap();
            let rule = rules.last_mut().unwrap();
            rule.1.push((name.to_ascii_lowercase(), value.to_owned()));
        } else {
            rules.push((line.to_owned(), Vec::new()));
        }
    }
    rules
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_behind_nginx_answer_each_others_conditional_gets() {
    let Some(nginx) = nginx() else { return };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    mirror(&common::shipped_feeds(), a.path());
    mirror(a.path(), b.path());
    let one = Running::start(a.path()).await;
    let two = Running::start(b.path()).await;
    let web = Nginx::start(
        &nginx,
        &format!(
            "upstream replicas {{ server {}; server {}; }}",
            one.addr, two.addr
        ),
        "  location / { proxy_pass http://replicas; proxy_http_version 1.1; add_header X-Replica $upstream_addr always; }",
    );
    let poll = |web: &Nginx, reference: &Reply, encoding: &str| {
        let mut reached = BTreeSet::new();
        for _ in 0..8 {
            for condition in [
                ("If-None-Match", reference.header("etag")),
                ("If-Modified-Since", reference.header("last-modified")),
            ] {
                let reply = get(
                    web.addr,
                    "/feed.rss",
                    &[condition, ("Accept-Encoding", encoding)],
                );
                assert_eq!(
                    reply.status,
                    304,
                    "{condition:?} {encoding} via {}; reference: {:?}",
                    reply.header("x-replica"),
                    reference.headers
                );
                reached.insert(reply.header("x-replica").to_owned());
            }
        }
        assert_eq!(reached.len(), 2, "both replicas answered: {reached:?}");
    };
    let mut references = Vec::new();
    for encoding in ["identity", "gzip"] {
        let reference = get(web.addr, "/feed.rss", &[("Accept-Encoding", encoding)]);
        assert_eq!(reference.status, 200);
        poll(&web, &reference, encoding);
        references.push(reference);
    }

    // An edit, applied to both copies with its modification times.
    let record = "+++\ntitle = \"Neu auf beiden Replikaten\"\ndate = \"01.12.2022\"\ncategories = [\"Kultur\"]\n+++\nText.\n";
    std::fs::write(a.path().join("articles/neu.md"), record).unwrap();
    mirror(a.path(), b.path());
    for replica in [&one, &two] {
        common::server::eventually(replica, "/feed.rss", Duration::from_secs(10), |r| {
            common::server::body_has(r, "Neu auf beiden Replikaten")
        })
        .await;
        // A reload swaps in the new feed first and adds its compressed
        // forms right after; until then gzip clients get identity.
        let started = Instant::now();
        while replica
            .get("/feed.rss", &[("accept-encoding", "gzip")])
            .await
            .header("content-encoding")
            != "gzip"
        {
            assert!(started.elapsed() < Duration::from_secs(5));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    for (encoding, old) in ["identity", "gzip"].into_iter().zip(&references) {
        // The old validators no longer match anywhere: the new feed comes.
        for _ in 0..4 {
            let reply = get(
                web.addr,
                "/feed.rss",
                &[
                    ("If-None-Match", old.header("etag")),
                    ("Accept-Encoding", encoding),
                ],
            );
            assert_eq!(
                reply.status,
                200,
                "{encoding} via {}",
                reply.header("x-replica")
            );
        }
        let reference = get(web.addr, "/feed.rss", &[("Accept-Encoding", encoding)]);
        assert_ne!(reference.header("etag"), old.header("etag"));
        poll(&web, &reference, encoding);
    }
    one.stop().await;
    two.stop().await;
}
