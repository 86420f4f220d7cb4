//! Fairness between clients: how many connections (or, behind a trusted
//! proxy, requests) each address has open, the address a proxy names, and
//! the `429` a client over its share gets.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::Request;

use super::http::HttpResponse;

/// How many connections (or, behind a proxy, requests) each client
/// address has open.
#[derive(Default)]
pub(super) struct Clients {
    open: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>,
}

/// One open connection or request of a client; counted down when dropped.
pub(super) struct ClientSlot {
    clients: Arc<Clients>,
    ip: std::net::IpAddr,
}

impl Clients {
    /// A slot for `ip`, unless it already holds `limit`.
    pub(super) fn enter(
        self: &Arc<Self>,
        ip: std::net::IpAddr,
        limit: usize,
    ) -> Option<ClientSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_insert(0);
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            clients: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.clients.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// The client a trusted proxy names: the last address of `X-Forwarded-For`
/// (the one the proxy itself added).
pub(super) fn forwarded_client(request: &Request<Incoming>) -> Option<std::net::IpAddr> {
    request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()?
        .trim()
        .parse()
        .ok()
}

pub(super) fn too_many_requests() -> HttpResponse {
    let mut response = hyper::Response::new(super::http::full(bytes::Bytes::from_static(
        "Zu viele gleichzeitige Anfragen\n".as_bytes(),
    )));
    *response.status_mut() = hyper::StatusCode::TOO_MANY_REQUESTS;
    response.headers_mut().insert(
        hyper::header::RETRY_AFTER,
        hyper::header::HeaderValue::from_static("1"),
    );
    response
}
