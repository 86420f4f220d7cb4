//! `stadtfeed publish` and `serve --publish-to` against an S3 server in
//! this process (tests/common/s3.rs): the bucket ends up holding exactly
//! what `build` writes, with the headers `serve` sends; later runs put
//! only what changed, in an order that never links to a missing object.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::s3::{self, Memory};
use common::server::Running;
use common::Fixture;

const BUCKET: &str = "site";
const PREFIX: &str = "werdau";

/// `stadtfeed <command> --feeds FEEDS <to> s3://…` with the in-process
/// store's endpoint and credentials; `to` is `--to` or `--publish-to`.
fn store_command(
    args: &[&str],
    to: &str,
    feeds: &Path,
    store: SocketAddr,
    cache: &Path,
) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_stadtfeed"));
    command
        .args(args)
        .arg("--feeds")
        .arg(feeds)
        .args([to, &format!("s3://{BUCKET}/{PREFIX}")])
        .args(["--endpoint", &format!("http://{store}")])
        .args(["--region", "us-east-1"])
        .arg("--cache-dir")
        .arg(cache)
        .env("AWS_ACCESS_KEY_ID", s3::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", s3::SECRET_KEY)
        .env_remove("AWS_ENDPOINT")
        .env_remove("AWS_PROFILE");
    command
}

/// `stadtfeed publish` for `feeds` into the in-process store.
fn publish_command(feeds: &Path, store: SocketAddr, cache: &Path) -> std::process::Command {
    store_command(&["publish"], "--to", feeds, store, cache)
}

/// Runs `stadtfeed publish` for `feeds` into the in-process store.
async fn publish(feeds: &Path, store: SocketAddr, cache: &Path) -> Output {
    let mut command = publish_command(feeds, store, cache);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// [`publish`] with `RUST_LOG` set to `filter`, run from another working
/// directory: the state of the last run must be found all the same.
async fn publish_logging(feeds: &Path, store: SocketAddr, cache: &Path, filter: &str) -> Output {
    let mut command = publish_command(feeds, store, cache);
    command.env("RUST_LOG", filter).current_dir(cache);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// Runs a publish that must find nothing to upload; returns what the
/// store was asked meanwhile.
async fn publish_nothing(
    feeds: &Path,
    store: SocketAddr,
    cache: &Path,
    memory: &Memory,
) -> Vec<(&'static str, String)> {
    memory.take_log();
    let output = publish(feeds, store, cache).await;
    assert!(
        stderr(&output).contains("nothing to upload"),
        "{}",
        stderr(&output)
    );
    memory.take_log()
}

/// `build`'s documents, by path (without the static hosts' header files).
fn build(feeds: &Path, out: &Path) -> BTreeMap<String, Vec<u8>> {
    common::build_site(feeds, out, &[]);
    walkdir::WalkDir::new(out)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            let name = e.path().strip_prefix(out).unwrap();
            name != Path::new("_headers") && name != Path::new("nginx-stadtfeed.conf")
        })
        .map(|e| {
            let path = e.path().strip_prefix(out).unwrap();
            (
                path.to_string_lossy().replace('\\', "/"),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// The site's objects in the bucket (without the manifest), by site path.
fn site_objects(memory: &Memory) -> BTreeMap<String, s3::Object> {
    memory
        .bucket(BUCKET)
        .into_iter()
        .filter_map(|(key, object)| {
            let path = key.strip_prefix(&format!("{PREFIX}/"))?.to_owned();
            (!path.starts_with(".stadtfeed/")).then_some((path, object))
        })
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The site paths of the puts in a request log, in order.
fn puts(log: &[(&'static str, String)]) -> Vec<String> {
    log.iter()
        .filter(|(method, key)| *method == "PUT" && !key.contains("/.stadtfeed/"))
        .map(|(_, key)| key.strip_prefix(&format!("{PREFIX}/")).unwrap().to_owned())
        .collect()
}

/// Waits until the store has been asked for at least `n` puts of site
/// objects.
async fn wait_for_puts(memory: &Memory, n: usize) {
    let started = std::time::Instant::now();
    while puts(&memory.log.lock().unwrap()).len() < n {
        assert!(started.elapsed().as_secs() < 30, "no puts");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Sends SIGTERM to a child process, as `systemctl stop` would.
fn sigterm(child: &std::process::Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn shipped_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in walkdir::WalkDir::new(common::shipped_feeds()) {
        let entry = entry.unwrap();
        let target = dir
            .path()
            .join(entry.path().strip_prefix(common::shipped_feeds()).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bucket_holds_what_build_writes_with_servers_headers() {
    let (store, memory) = s3::start().await;
    let feeds = shipped_copy();
    let cache = tempfile::tempdir().unwrap();
    let output = publish(feeds.path(), store, cache.path()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let out = tempfile::tempdir().unwrap();
    let files = build(feeds.path(), &out.path().join("site"));
    let objects = site_objects(&memory);
    assert_eq!(
        objects.keys().collect::<Vec<_>>(),
        files.keys().collect::<Vec<_>>(),
        "the same paths as build"
    );
    // Headers: what `serve` sends for the same path.
    let server = Running::start(feeds.path()).await;
    for (path, object) in &objects {
        assert_eq!(&object.body[..], &files[path][..], "{path}: bytes");
        let url = format!("/{}", path.strip_suffix("index.html").unwrap_or(path));
        let reply = server.get(&url, &[]).await;
        assert_eq!(reply.status, 200, "{url}");
        assert_eq!(
            object.content_type.as_deref(),
            Some(reply.header("content-type")),
            "{path}: Content-Type"
        );
        assert_eq!(
            object.cache_control.as_deref(),
            Some(reply.header("cache-control")),
            "{path}: Cache-Control"
        );
        assert_eq!(
            object.metadata.get("last-modified").map(String::as_str),
            Some(reply.header("last-modified")),
            "{path}: Last-Modified in metadata"
        );
    }
    server.stop().await;
    assert!(stderr(&output).contains(&format!("{} uploaded", objects.len())));
}

/// `aws configure` users keep credentials in `~/.aws/`: with none in the
/// environment, the profile named by `AWS_PROFILE` gives the keys, the
/// region and the endpoint; a wrong secret there is refused by the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_region_and_endpoint_come_from_the_aws_profile() {
    let (store, memory) = s3::start().await;
    let feeds = shipped_copy();
    let aws = tempfile::tempdir().unwrap();
    let run = |secret: &str| {
        std::fs::write(
            aws.path().join("credentials"),
            format!(
                "[default]\naws_access_key_id = nobody\naws_secret_access_key = nothing\n\n\
                 [werdau]\naws_access_key_id = {}\naws_secret_access_key = {secret}\n",
                s3::ACCESS_KEY
            ),
        )
        .unwrap();
        std::fs::write(
            aws.path().join("config"),
            format!("[profile werdau]\nregion = us-east-1\nendpoint_url = http://{store}\n"),
        )
        .unwrap();
        let cache = tempfile::tempdir().unwrap();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_stadtfeed"));
        command
            .args(["publish", "--feeds"])
            .arg(feeds.path())
            .args(["--to", &format!("s3://{BUCKET}/{PREFIX}")])
            .arg("--cache-dir")
            .arg(cache.path())
            .env("AWS_PROFILE", "werdau")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                aws.path().join("credentials"),
            )
            .env("AWS_CONFIG_FILE", aws.path().join("config"));
        for name in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ENDPOINT",
            "AWS_ENDPOINT_URL",
        ] {
            command.env_remove(name);
        }
        command
    };
    let mut wrong = run("not-the-secret");
    let refused = tokio::task::spawn_blocking(move || wrong.output().unwrap())
        .await
        .unwrap();
    assert!(!refused.status.success(), "a wrong secret must be refused");
    assert!(site_objects(&memory).is_empty());
    let mut right = run(s3::SECRET_KEY);
    let output = tokio::task::spawn_blocking(move || right.output().unwrap())
        .await
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let objects = site_objects(&memory);
    assert!(objects.contains_key("feed.rss"), "{:?}", objects.keys());
    assert!(objects.contains_key("index.html"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_runs_put_only_what_changed_leaves_first_deletions_last() {
    let (store, memory) = s3::start().await;
    let fixture = Fixture::new();
    for day in 1..=9 {
        fixture.record(
            &format!("r{day}.md"),
            &common::good_record(&format!("Meldung {day}"), &format!("0{day}.01.2022")),
        );
    }
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let site = out.path().join("site");
    assert!(publish(fixture.path(), store, cache.path())
        .await
        .status
        .success());
    let before = build(fixture.path(), &site);

    // Unchanged: two requests, for the manifest's base and changes, each
    // answered 304 (the run keeps copies of them), and nothing put.
    let log = publish_nothing(fixture.path(), store, cache.path(), &memory).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log.iter().all(|(m, _)| *m == "GET 304"), "{log:?}");

    // One new record: exactly the documents whose bytes changed are put,
    // and only the documents the change can reach are compared (the
    // state saved by the last run and the manifest it left agree).
    fixture.record("neu.md", &common::good_record("Ganz neu", "20.01.2022"));
    let output = publish_logging(
        fixture.path(),
        store,
        cache.path(),
        "stadtfeed::publish=debug",
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("everything=false"),
        "{}",
        stderr(&output)
    );
    let after = build(fixture.path(), &site);
    let changed: Vec<String> = after
        .iter()
        .filter(|(path, bytes)| before.get(*path) != Some(bytes))
        .map(|(path, _)| path.clone())
        .collect();
    let log = memory.take_log();
    // A small change writes the manifest once, after every document: its
    // base (on a site this small the change is more than an eighth of
    // it), and last the changes since the base.
    let manifest_puts: Vec<usize> = log
        .iter()
        .enumerate()
        .filter(|(_, (m, k))| *m == "PUT" && k.contains("/.stadtfeed/"))
        .map(|(at, _)| at)
        .collect();
    assert!(!manifest_puts.is_empty(), "{log:?}");
    assert_eq!(
        manifest_puts,
        (log.len() - manifest_puts.len()..log.len()).collect::<Vec<_>>(),
        "{log:?}"
    );
    assert!(log[log.len() - 1]
        .1
        .ends_with(".stadtfeed/manifest-changes"));
    let mut put = puts(&log);
    let order = put.clone();
    put.sort();
    assert_eq!(put, changed, "puts = changed documents");
    // The new article before the feeds and pages that link to it.
    let position = |path: &str| order.iter().position(|p| p == path).unwrap();
    assert!(position("artikel/neu/index.html") < position("feed.rss"));
    assert!(position("artikel/neu/index.html") < position("index.html"));
    assert!(position("kategorie/kultur/feed.atom") < position("feed.atom"));
    assert_eq!(site_objects(&memory).len(), after.len());

    // A deleted record: its page is deleted, after every put.
    std::fs::remove_file(fixture.path().join("articles/r1.md")).unwrap();
    let output = publish(fixture.path(), store, cache.path()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let log = memory.take_log();
    let deleted: Vec<&str> = log
        .iter()
        .filter(|(m, _)| *m == "DELETE")
        .map(|(_, k)| k.as_str())
        .collect();
    assert_eq!(deleted, [format!("{PREFIX}/artikel/r1/index.html")]);
    let last_put = log
        .iter()
        .rposition(|(m, k)| *m == "PUT" && !k.contains(".stadtfeed"))
        .unwrap();
    let delete = log.iter().position(|(m, _)| *m == "DELETE").unwrap();
    assert!(last_put < delete, "{log:?}");
    let after = build(fixture.path(), &site);
    let objects = site_objects(&memory);
    assert_eq!(
        objects.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );

    // A record moved to another month and one recategorised: runs that
    // compare only what the edits reach leave the bucket holding what a
    // build of everything writes.
    fixture.record("r5.md", &common::good_record("Meldung 5", "05.03.2022"));
    let recategorised = std::fs::read_to_string(fixture.path().join("articles/r7.md"))
        .unwrap()
        .replace("\"Kultur\"", "\"Sport\"");
    fixture.record("r7.md", &recategorised);
    let output = publish(fixture.path(), store, cache.path()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let after = build(fixture.path(), &site);
    let objects = site_objects(&memory);
    assert_eq!(
        objects.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &after {
        assert_eq!(&objects[path].body[..], &bytes[..], "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_publish_links_to_nothing_missing_and_the_next_completes_it() {
    let (store, memory) = s3::start().await;
    let fixture = Fixture::new();
    for day in 1..=5 {
        fixture.record(
            &format!("r{day}.md"),
            &common::good_record(&format!("Meldung {day}"), &format!("0{day}.01.2022")),
        );
    }
    let cache = tempfile::tempdir().unwrap();
    assert!(publish(fixture.path(), store, cache.path())
        .await
        .status
        .success());
    let old_feed = site_objects(&memory)["feed.rss"].body.clone();

    // New records; the store refuses puts after a few.
    for day in 10..=14 {
        fixture.record(
            &format!("n{day}.md"),
            &common::good_record(&format!("Neu {day}"), &format!("{day}.02.2022")),
        );
    }
    memory
        .puts_left
        .store(4, std::sync::atomic::Ordering::SeqCst);
    let output = publish(fixture.path(), store, cache.path()).await;
    assert!(!output.status.success());
    assert!(stderr(&output).contains("run again"), "{}", stderr(&output));
    let objects = site_objects(&memory);
    // The site's feed is the old one, and every article it names is there.
    assert_eq!(objects["feed.rss"].body, old_feed);
    let feed = feed_rs::parser::parse(&objects["feed.rss"].body[..]).unwrap();
    for entry in &feed.entries {
        let link = &entry.links[0].href;
        let path = link.split("/feeds/").nth(1).unwrap();
        assert!(objects.contains_key(&format!("{path}index.html")), "{path}");
    }

    memory
        .puts_left
        .store(usize::MAX, std::sync::atomic::Ordering::SeqCst);
    let output = publish(fixture.path(), store, cache.path()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let out = tempfile::tempdir().unwrap();
    let files = build(fixture.path(), &out.path().join("site"));
    let objects = site_objects(&memory);
    assert_eq!(objects.len(), files.len());
    for (path, bytes) in &files {
        assert_eq!(&objects[path].body[..], &bytes[..], "{path}");
    }
}

/// SIGTERM (or Ctrl-C) in the middle of a publish: no upload is started
/// after it, the ones under way are finished and recorded in the manifest
/// (a store may lose an object whose overwrite is cut off), and the next
/// run puts exactly what is still missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_uploads_under_way_and_records_them() {
    let (store, memory) = s3::start().await;
    let feeds = shipped_copy();
    let cache = tempfile::tempdir().unwrap();
    memory
        .put_delay_ms
        .store(100, std::sync::atomic::Ordering::SeqCst);
    let child = publish_command(feeds.path(), store, cache.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_puts(&memory, 20).await;
    sigterm(&child);
    let requested_at_signal = puts(&memory.log.lock().unwrap()).len();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(!output.status.success(), "a stopped publish is no success");
    assert!(stderr(&output).contains("stopped"), "{}", stderr(&output));
    let put = puts(&memory.take_log());
    let stored = site_objects(&memory);
    // Every put asked for was completed, and at most the ones under way
    // at the signal (16 at a time) were asked for after it.
    assert_eq!(put.len(), stored.len(), "{put:?}");
    assert!(
        put.len() <= requested_at_signal + 16,
        "{} puts, {requested_at_signal} at the signal",
        put.len()
    );
    memory
        .put_delay_ms
        .store(0, std::sync::atomic::Ordering::SeqCst);
    let output = publish(feeds.path(), store, cache.path()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let second = puts(&memory.take_log());
    let out = tempfile::tempdir().unwrap();
    let files = build(feeds.path(), &out.path().join("site"));
    assert!(stored.len() < files.len(), "it stopped early");
    assert_eq!(site_objects(&memory).len(), files.len());
    assert_eq!(
        second.len() + stored.len(),
        files.len(),
        "the next run puts only what the stopped one had not"
    );
}

/// A second SIGTERM does not wait for the uploads under way: it quits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigterm_quits_at_once() {
    let (store, memory) = s3::start().await;
    let feeds = shipped_copy();
    let cache = tempfile::tempdir().unwrap();
    memory
        .put_delay_ms
        .store(10_000, std::sync::atomic::Ordering::SeqCst);
    let child = publish_command(feeds.path(), store, cache.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_puts(&memory, 1).await;
    sigterm(&child);
    tokio::time::sleep(Duration::from_millis(300)).await;
    sigterm(&child);
    let signalled = std::time::Instant::now();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "it did not wait for the 10 s uploads"
    );
}

/// `serve --publish-to` stopped by SIGTERM while it publishes: like
/// `publish`, it finishes the uploads it started before it exits, so no
/// object is left with a cut-off overwrite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_finishes_its_uploads_when_stopped() {
    let (store, memory) = s3::start().await;
    let feeds = shipped_copy();
    let cache = tempfile::tempdir().unwrap();
    memory
        .put_delay_ms
        .store(100, std::sync::atomic::Ordering::SeqCst);
    let child = store_command(
        &["serve", "--addr", "127.0.0.1:0"],
        "--publish-to",
        feeds.path(),
        store,
        cache.path(),
    )
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    wait_for_puts(&memory, 20).await;
    sigterm(&child);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let put = puts(&memory.take_log());
    let stored = site_objects(&memory);
    assert_eq!(put.len(), stored.len(), "every put asked for was completed");
    let out = tempfile::tempdir().unwrap();
    let files = build(feeds.path(), &out.path().join("site"));
    assert!(stored.len() < files.len(), "it stopped early");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keeps_the_bucket_in_step_and_catches_up_after_a_failure() {
    let (store, memory) = s3::start().await;
    let fixture = Fixture::new();
    fixture.record("a.md", &common::good_record("Erste", "01.01.2022"));
    std::env::set_var("AWS_ACCESS_KEY_ID", s3::ACCESS_KEY);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", s3::SECRET_KEY);
    let target = stadtfeed::publish::Target::parse(
        &format!("s3://{BUCKET}/{PREFIX}"),
        Some(format!("http://{store}")),
        Some("us-east-1".to_owned()),
    )
    .unwrap();
    let server = Running::start_with(fixture.path(), |config| {
        config.publish_to = Some(target);
    })
    .await;
    let health = |reply: &common::server::Reply| -> serde_json::Value {
        serde_json::from_slice(&reply.body).unwrap()
    };
    common::server::eventually(&server, "/healthz", Duration::from_secs(10), |r| {
        health(r)["publish"]["state"] == "ok"
    })
    .await;
    assert!(site_objects(&memory).contains_key("artikel/a/index.html"));

    // An edit is published by itself.
    fixture.record("b.md", &common::good_record("Zweite", "02.01.2022"));
    let wait = Duration::from_secs(10);
    let started = std::time::Instant::now();
    while !site_objects(&memory).contains_key("artikel/b/index.html") {
        assert!(started.elapsed() < wait, "not published");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The store refuses: /healthz says so; requests are answered meanwhile.
    memory
        .puts_left
        .store(0, std::sync::atomic::Ordering::SeqCst);
    fixture.record("c.md", &common::good_record("Dritte", "03.01.2022"));
    common::server::eventually(&server, "/healthz", wait, |r| {
        health(r)["publish"]["state"] == "failing" && health(r)["status"] == "degraded"
    })
    .await;
    common::server::eventually(&server, "/artikel/c/", wait, |r| r.status == 200).await;

    // It answers again: caught up without another edit.
    memory
        .puts_left
        .store(usize::MAX, std::sync::atomic::Ordering::SeqCst);
    common::server::eventually(&server, "/healthz", wait, |r| {
        health(r)["publish"]["state"] == "ok"
    })
    .await;
    let objects = site_objects(&memory);
    let feed = &objects["feed.rss"].body;
    assert!(String::from_utf8_lossy(feed).contains("Dritte"));
    assert!(objects.contains_key("artikel/c/index.html"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_max_age_rewrites_headers_in_place_without_sending_bytes() {
    let (store, memory) = s3::start().await;
    let feeds = shipped_copy();
    let cache = tempfile::tempdir().unwrap();
    let output = publish(feeds.path(), store, cache.path()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let before = site_objects(&memory);
    let short = |objects: &BTreeMap<String, s3::Object>, value: &str| {
        objects
            .values()
            .filter(|o| o.cache_control.as_deref() == Some(value))
            .count()
    };
    let short_before = short(&before, "public, max-age=300");
    assert!(short_before > 50, "{short_before} short-lived objects");

    let config = feeds.path().join("site.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let changed = text.replace("max_age     = 300", "max_age     = 600");
    assert_ne!(changed, text, "the shipped site.toml sets max_age = 300");
    std::fs::write(&config, changed).unwrap();
    memory.take_log();
    let output = publish(feeds.path(), store, cache.path()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let log = memory.take_log();

    // No document was sent again; each short-lived one was copied onto
    // itself with new headers.
    assert_eq!(puts(&log), Vec::<String>::new(), "{log:?}");
    let copies = log.iter().filter(|(m, _)| *m == "COPY").count();
    assert_eq!(copies, short_before);
    assert!(
        stderr(&output).contains(&format!(
            "0 uploaded (0 bytes), {short_before} with new headers"
        )),
        "{}",
        stderr(&output)
    );
    let after = site_objects(&memory);
    assert_eq!(short(&after, "public, max-age=600"), short_before);
    assert_eq!(short(&after, "public, max-age=300"), 0);
    for (path, object) in &after {
        let old = &before[path];
        assert_eq!(object.body, old.body, "{path}: bytes");
        assert_eq!(object.content_type, old.content_type, "{path}");
        // Last-Modified follows site.toml's mtime (as `serve` does): it may
        // move forward, never back.
        let date =
            |o: &s3::Object| httpdate::parse_http_date(&o.metadata["last-modified"]).unwrap();
        assert!(date(object) >= date(old), "{path}: Last-Modified");
    }
    // What build writes is still what the bucket holds, headers included.
    let out = tempfile::tempdir().unwrap();
    let built = build(feeds.path(), out.path());
    assert_eq!(built.len(), after.len());
    for (path, bytes) in &built {
        assert_eq!(&after[path].body[..], &bytes[..], "{path}");
    }
    let rules = std::fs::read_to_string(out.path().join("_headers")).unwrap();
    assert!(rules.contains("max-age=600"), "{rules}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_another_publisher_wrote_is_read_not_the_kept_copy() {
    let (store, memory) = s3::start().await;
    let fixture = Fixture::new();
    fixture.record("a.md", &common::good_record("Erste", "10.01.2022"));
    let (cache_a, cache_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for cache in [&cache_a, &cache_b] {
        let output = publish(fixture.path(), store, cache.path()).await;
        assert!(output.status.success(), "{}", stderr(&output));
    }
    // B (another machine, its own state) publishes a new record.
    fixture.record("b.md", &common::good_record("Zweite", "11.01.2022"));
    let output = publish(fixture.path(), store, cache_b.path()).await;
    assert!(stderr(&output).contains("uploaded"), "{}", stderr(&output));
    // A's kept copy is stale: the store sends the new manifest, and A
    // sees that B already put everything.
    let log = publish_nothing(fixture.path(), store, cache_a.path(), &memory).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log.iter().all(|(m, _)| *m == "GET"), "{log:?}");
}
