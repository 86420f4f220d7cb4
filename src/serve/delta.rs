//! Delta feeds (RFC 3229 with `A-IM: feed`, as Liferea and picoFeed ask):
//! a client naming an earlier version of a subscription feed in
//! `If-None-Match` gets only the entries added or changed since (`226 IM
//! Used`), instead of the whole feed again.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use hyper::header::{HeaderMap, HeaderValue};

use super::documents::ServedState;
use crate::site::key::DocKey;
use crate::site::plan::{Member, Plan};

/// Versions remembered per subscription feed.
pub const VERSIONS: usize = 32;

/// One version of a feed: its fingerprint and its entries.
type Version = ([u8; 16], Vec<Member>);

/// The last versions of every subscription feed.
#[derive(Default)]
pub struct FeedHistory {
    versions: Mutex<HashMap<DocKey, VecDeque<Version>>>,
}

impl FeedHistory {
    /// Remembers the current version of every subscription feed of `state`.
    pub fn record(&self, state: &ServedState) {
        let mut versions = self.versions.lock().unwrap_or_else(|e| e.into_inner());
        for (key, document) in &state.hot {
            if !key.is_subscription() {
                continue;
            }
            let Some(Plan::Feed(plan)) = Plan::of(&state.index, key) else {
                continue;
            };
            let list = versions.entry(key.clone()).or_default();
            if list
                .back()
                .is_some_and(|(f, _)| *f == document.meta.fingerprint)
            {
                continue;
            }
            list.push_back((document.meta.fingerprint, plan.entries));
            while list.len() > VERSIONS {
                list.pop_front();
            }
        }
    }

    /// The entries of the version of `key` named `fingerprint`, if known.
    pub fn entries(&self, key: &DocKey, fingerprint: &[u8; 16]) -> Option<Vec<Member>> {
        let versions = self.versions.lock().unwrap_or_else(|e| e.into_inner());
        versions
            .get(key)?
            .iter()
            .find(|(f, _)| f == fingerprint)
            .map(|(_, entries)| entries.clone())
    }
}

/// Whether the request accepts a feed delta (`A-IM: feed`).
pub fn wants_delta(headers: &HeaderMap) -> bool {
    headers
        .get_all("a-im")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|im| {
            im.split(';')
                .next()
                .is_some_and(|im| im.trim().eq_ignore_ascii_case("feed"))
        })
}

/// The fingerprints the request's `If-None-Match` names (of any encoding).
pub fn named_versions(headers: &HeaderMap) -> Vec<[u8; 16]> {
    headers
        .get_all(hyper::header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v: &HeaderValue| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|tag| {
            let tag = tag.trim();
            let tag = tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"');
            let hex = tag.split('-').next()?;
            if hex.len() != 32 {
                return None;
            }
            let mut out = [0u8; 16];
            for (i, byte) in out.iter_mut().enumerate() {
                *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
            }
            Some(out)
        })
        .collect()
}
