//! Large hot bodies sent with `sendfile(2)`, as nginx sends its files:
//! writing a 150 KB feed copies it into the socket, which at 100 000
//! records was half of the server's CPU time on plain `/feed.rss`
//! requests (bench/README.md); `sendfile` from a memory file hands the
//! kernel its pages instead.
//!
//! A body is [`file_backed`]: its bytes stay where they are in memory
//! (hyper sends `Bytes`), and a copy goes into a file of its own,
//! registered under the address range of the bytes. That file is unnamed
//! (`O_TMPFILE`) in the state directory when its file system allows, else
//! a memory file (`memfd_create(2)`): sending a 141 KB
//! body over loopback cost both ends about 10 % less CPU from an ext4
//! file than from a memory file (bench/README.md, session 27).
//! [`Connection`] writes what hyper gives it; a slice within a registered
//! range is sent from the file at the same offset, everything else is
//! written as usual. Both hold the same bytes, which never change; a
//! range is unregistered before its memory is freed, so an address never
//! leads to another body's file.

use std::fs::File;
use std::io::{self, IoSlice, Write};
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

/// Bodies from this size on are file-backed; below it, a copy costs less
/// than the file and its lookups.
pub const MIN_BYTES: usize = 32 * 1024;

/// One file-backed body: where its bytes are in memory, and its file.
struct Region {
    start: usize,
    len: usize,
    file: Arc<File>,
}

/// Every file-backed body alive.
static REGIONS: RwLock<Vec<Region>> = RwLock::new(Vec::new());

/// How many there are: a connection looks no further when none is.
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// The file holding `slice`, and where in it, if `slice` lies within a
/// file-backed body.
fn find(slice: &[u8]) -> Option<(Arc<File>, u64)> {
    if slice.is_empty() || COUNT.load(Ordering::Acquire) == 0 {
        return None;
    }
    let start = slice.as_ptr() as usize;
    let end = start + slice.len();
    let regions = REGIONS.read().unwrap_or_else(|e| e.into_inner());
    regions
        .iter()
        .find(|r| r.start <= start && end <= r.start + r.len)
        .map(|r| (Arc::clone(&r.file), (start - r.start) as u64))
}

/// The owner of a file-backed body's bytes (a handle on them, so they
/// stay where they are while it lives): unregisters them when it goes.
struct FileBacked {
    bytes: Bytes,
}

impl AsRef<[u8]> for FileBacked {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for FileBacked {
    fn drop(&mut self) {
        let start = self.bytes.as_ptr() as usize;
        let mut regions = REGIONS.write().unwrap_or_else(|e| e.into_inner());
        regions.retain(|r| r.start != start);
        COUNT.store(regions.len(), Ordering::Release);
    }
}

/// `body`, file-backed when it is large enough and a file can be made
/// (else as it is: it is then written like any other); the file is an
/// unnamed one in `dir` (the state directory) where its file system
/// allows, else a memory file.
pub fn file_backed(dir: Option<&Path>, body: Bytes) -> Bytes {
    if body.len() < MIN_BYTES {
        return body;
    }
    let file = match dir {
        Some(dir) => unnamed_file(dir, &body).or_else(|e| {
            tracing::debug!("no unnamed file in {}: {e}", dir.display());
            memory_file(&body)
        }),
        None => memory_file(&body),
    };
    match file {
        Ok(file) => {
            let owner = FileBacked { bytes: body };
            let region = Region {
                start: owner.bytes.as_ptr() as usize,
                len: owner.bytes.len(),
                file: Arc::new(file),
            };
            let mut regions = REGIONS.write().unwrap_or_else(|e| e.into_inner());
            regions.push(region);
            COUNT.store(regions.len(), Ordering::Release);
            drop(regions);
            Bytes::from_owner(owner)
        }
        Err(e) => {
            tracing::debug!("no memory file for a {} byte body: {e}", body.len());
            body
        }
    }
}

/// A file holding `bytes` that has no name in `dir` and goes when closed.
#[cfg(target_os = "linux")]
fn unnamed_file(dir: &Path, bytes: &[u8]) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_TMPFILE | libc::O_CLOEXEC)
        .mode(0o600)
        .open(dir)?;
    file.write_all(bytes)?;
    Ok(file)
}

#[cfg(not(target_os = "linux"))]
fn unnamed_file(_: &Path, _: &[u8]) -> io::Result<File> {
    Err(io::ErrorKind::Unsupported.into())
}

/// A memory file holding `bytes`.
#[cfg(target_os = "linux")]
fn memory_file(bytes: &[u8]) -> io::Result<File> {
    use nix::sys::memfd::{memfd_create, MFdFlags};
    let fd = memfd_create(c"stadtfeed-body", MFdFlags::MFD_CLOEXEC).map_err(io::Error::from)?;
    let mut file = File::from(fd);
    file.write_all(bytes)?;
    Ok(file)
}

#[cfg(not(target_os = "linux"))]
fn memory_file(_: &[u8]) -> io::Result<File> {
    Err(io::ErrorKind::Unsupported.into())
}

/// A client connection that sends file-backed slices with `sendfile`.
pub struct Connection {
    stream: TcpStream,
}

impl Connection {
    /// Wraps an accepted connection. Without Nagle's algorithm (as nginx
    /// on keep-alive connections): the last segment of a body is sent
    /// at once, not when the client has acknowledged the ones before.
    pub fn new(stream: TcpStream) -> Connection {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY: {e}");
        }
        Connection { stream }
    }

    /// Runs `send` (one non-blocking send on the socket) once the socket
    /// takes more; pending while it is full.
    #[cfg(target_os = "linux")]
    fn poll_send(
        &self,
        cx: &mut Context<'_>,
        mut send: impl FnMut() -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.stream.poll_write_ready(cx))?;
            match self.stream.try_io(Interest::WRITABLE, &mut send) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    /// Sends `len` bytes of `file` from `offset`; some of them, or
    /// pending until the socket takes more.
    #[cfg(target_os = "linux")]
    fn poll_send_file(
        &self,
        cx: &mut Context<'_>,
        file: &File,
        offset: u64,
        len: usize,
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, || {
            let mut at = offset as i64;
            nix::sys::sendfile::sendfile64(&self.stream, file, Some(&mut at), len)
                .map_err(io::Error::from)
        })
    }

    /// Writes `bufs` with `MSG_MORE`: the kernel waits for the file's bytes
    /// that follow before it sends a segment (as nginx's `tcp_nopush`),
    /// instead of sending the headers alone and then, with Nagle's
    /// algorithm, waiting for their acknowledgement.
    #[cfg(target_os = "linux")]
    fn poll_write_more(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        use nix::sys::socket::{sendmsg, MsgFlags};
        use std::os::fd::AsRawFd;
        self.poll_send(cx, || {
            sendmsg::<()>(
                self.stream.as_raw_fd(),
                bufs,
                &[],
                MsgFlags::from_bits_retain(libc::MSG_MORE),
                None,
            )
            .map_err(io::Error::from)
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn poll_write_more(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    #[cfg(not(target_os = "linux"))]
    fn poll_send_file(
        &self,
        _: &mut Context<'_>,
        _: &File,
        _: u64,
        _: usize,
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(io::ErrorKind::Unsupported.into()))
    }
}

/// What a write that has already sent `written` bytes returns when the
/// next step ends in `step`: the bytes sent, unless there are none.
fn so_far(written: usize, step: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
    match step {
        _ if written > 0 => Poll::Ready(Ok(written)),
        other => other,
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let mut written = 0;
        let mut next = 0;
        while next < bufs.len() {
            // The slices up to the next file-backed one go out as usual.
            let backed = bufs[next..]
                .iter()
                .enumerate()
                .find_map(|(i, b)| find(b).map(|found| (next + i, found)));
            let plain_end = backed.as_ref().map_or(bufs.len(), |(at, _)| *at);
            let plain = &bufs[next..plain_end];
            let plain_len: usize = plain.iter().map(|b| b.len()).sum();
            if plain_len > 0 {
                let step = if backed.is_some() {
                    this.poll_write_more(cx, plain)
                } else {
                    Pin::new(&mut this.stream).poll_write_vectored(cx, plain)
                };
                match step {
                    Poll::Ready(Ok(n)) => {
                        written += n;
                        if n < plain_len {
                            return Poll::Ready(Ok(written));
                        }
                    }
                    other => return so_far(written, other),
                }
            }
            let Some((at, (file, offset))) = backed else {
                break;
            };
            let len = bufs[at].len();
            match this.poll_send_file(cx, &file, offset, len) {
                Poll::Ready(Ok(n)) => {
                    written += n;
                    if n < len {
                        return Poll::Ready(Ok(written));
                    }
                }
                other => return so_far(written, other),
            }
            next = at + 1;
        }
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

/// Linux only: elsewhere no body is file-backed.
#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A connected pair over loopback, the sender's buffer small so that
    /// writes are cut short.
    async fn pair() -> (Connection, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_send_buffer_size(4096).unwrap();
        let (sender, accepted) = tokio::join!(socket.connect(address), listener.accept());
        (Connection::new(sender.unwrap()), accepted.unwrap().0)
    }

    #[tokio::test]
    async fn file_backed_slices_arrive_as_written_between_plain_ones() {
        let state = tempfile::tempdir().unwrap();
        // A memory file, and an unnamed file in the state directory.
        for dir in [None, Some(state.path())] {
            slices_arrive_as_written(dir).await;
        }
        let left: Vec<_> = std::fs::read_dir(state.path()).unwrap().collect();
        assert!(left.is_empty(), "an unnamed file has a name: {left:?}");
    }

    async fn slices_arrive_as_written(dir: Option<&Path>) {
        let body = file_backed(
            dir,
            Bytes::from(
                (0..300_000u32)
                    .map(|i| (i % 251) as u8)
                    .collect::<Vec<u8>>(),
            ),
        );
        let (file, _) = find(&body[1000..2000]).expect("not file-backed");
        if let Some(dir) = dir {
            let path = path_of(&file);
            assert!(path.starts_with(dir), "{}", path.display());
        }
        let head = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        let middle = body.slice(100..250_000);
        let tail = b"\r\n-- end".to_vec();
        let mut expected = head.clone();
        expected.extend_from_slice(&middle);
        expected.extend_from_slice(&tail);
        let (mut sender, mut receiver) = pair().await;
        let reading = tokio::spawn(async move {
            let mut got = Vec::new();
            receiver.read_to_end(&mut got).await.unwrap();
            got
        });
        // As hyper does: vectored writes of what is left, until all is sent.
        let parts = [&head[..], &middle[..], &tail[..]];
        let mut sent = 0;
        let total: usize = parts.iter().map(|p| p.len()).sum();
        while sent < total {
            let mut skip = sent;
            let mut slices = Vec::new();
            for part in parts {
                if skip >= part.len() {
                    skip -= part.len();
                    continue;
                }
                slices.push(IoSlice::new(&part[skip..]));
                skip = 0;
            }
            sent += sender.write_vectored(&slices).await.unwrap();
        }
        sender.shutdown().await.unwrap();
        assert!(reading.await.unwrap() == expected, "bytes differ ({dir:?})");
    }

    /// Where an open file is, as the kernel names it (an unnamed file:
    /// its folder, then `#inode (deleted)`).
    fn path_of(file: &File) -> std::path::PathBuf {
        let fd = std::os::fd::AsRawFd::as_raw_fd(file);
        std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap()
    }

    #[test]
    fn a_body_file_is_unnamed_in_the_state_directory() {
        use std::os::unix::fs::FileExt;
        let state = tempfile::tempdir().unwrap();
        let bytes = vec![9u8; MIN_BYTES * 3];
        let file = unnamed_file(state.path(), &bytes).unwrap();
        let mut back = vec![0u8; bytes.len()];
        file.read_exact_at(&mut back, 0).unwrap();
        assert!(back == bytes);
        // On the state directory's file system, not in memory.
        let path = path_of(&file);
        assert!(path.starts_with(state.path()), "{}", path.display());
        assert_eq!(std::fs::read_dir(state.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_dropped_body_is_unregistered() {
        let body = file_backed(None, Bytes::from(vec![7u8; MIN_BYTES * 2]));
        let copy = body.slice(10..20);
        let (file, offset) = find(&copy).expect("not file-backed");
        assert_eq!(offset, 10);
        drop(body);
        assert!(find(&copy).is_some(), "a slice keeps its body");
        drop(copy);
        // Only this test's handle is left: the registry let go of it.
        assert_eq!(Arc::strong_count(&file), 1);
    }

    #[test]
    fn small_bodies_stay_as_they_are() {
        let body = Bytes::from(vec![1u8; MIN_BYTES - 1]);
        let same = file_backed(None, body.clone());
        assert_eq!(same.as_ptr(), body.as_ptr());
    }
}
