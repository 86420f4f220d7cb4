//! Slow clients cannot starve others: 1 100 connections from one address
//! that send half a request head and reconnect whenever closed, while a
//! normal client from another address is served as usual.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::server::Running;
use hyper::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_client_is_served_during_a_slowloris_attack() {
    rlimit::increase_nofile_limit(8192).unwrap();
    let server = Running::start(&common::shipped_feeds()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut attackers = Vec::new();
    for _ in 0..1100 {
        let stop = Arc::clone(&stop);
        let addr = server.addr;
        attackers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let socket = TcpSocket::new_v4().unwrap();
                // Another loopback address: another client.
                socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
                let Ok(mut stream) = socket.connect(addr).await else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let _ = stream
                    .write_all(b"GET /feed.rss HTTP/1.1\r\nHost: x\r\n")
                    .await;
                // Hold the connection until the server closes it, then again.
                let mut buf = [0u8; 64];
                let _ = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf)).await;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut times = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let reply = server.get("/feed.rss", &[]).await;
        times.push(started.elapsed());
        assert_eq!(reply.status, StatusCode::OK);
    }
    stop.store(true, Ordering::Relaxed);
    times.sort();
    let median = times[times.len() / 2];
    eprintln!(
        "normal client during the attack: median {median:?}, max {:?}",
        times[times.len() - 1]
    );
    assert!(median < Duration::from_millis(100), "median {median:?}");
    for attacker in attackers {
        attacker.abort();
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_clients_are_limited_by_their_forwarded_address() {
    let server = Running::start_with(&common::shipped_feeds(), |config| {
        config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        config.max_connections_per_client = 1;
    })
    .await;
    // Many connections from the proxy's address are fine.
    let replies = futures_join(&server, 8).await;
    assert!(replies.iter().all(|s| *s == StatusCode::OK), "{replies:?}");
    server.stop().await;
}

async fn futures_join(server: &Running, n: usize) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    let mut handles = Vec::new();
    for i in 0..n {
        let addr = server.addr;
        handles.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let request = format!(
                "GET /feed.rss HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.{i}\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut response = Vec::new();
            stream.read_to_end(&mut response).await.unwrap();
            let status: u16 = String::from_utf8_lossy(&response[9..12]).parse().unwrap();
            StatusCode::from_u16(status).unwrap()
        }));
    }
    for handle in handles {
        statuses.push(handle.await.unwrap());
    }
    statuses
}
