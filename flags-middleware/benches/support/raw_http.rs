//! A load generator's HTTP/1.1 connection that does as little as it can per
//! request: the request's bytes written as they are, the answer read up to
//! the end of its head and then `content-length` bytes of body. A full
//! client on one core cannot keep one core of axum busy; this one can, so
//! requests per second measure the server.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One keep-alive connection.
pub(crate) struct RawConnection {
    stream: TcpStream,
    buf: Vec<u8>,
    filled: usize,
}

impl RawConnection {
    pub(crate) async fn connect(addr: SocketAddr) -> RawConnection {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        RawConnection {
            stream,
            buf: vec![0; 16 * 1024],
            filled: 0,
        }
    }

    /// Sends `request` (a whole HTTP/1.1 request) and reads one answer;
    /// its status code.
    pub(crate) async fn round_trip(&mut self, request: &[u8]) -> u16 {
        self.stream.write_all(request).await.expect("write");
        loop {
            if let Some((status, len)) = answer_len(&self.buf[..self.filled]) {
                while self.filled < len {
                    self.read_more().await;
                }
                // Nothing is pipelined: whatever follows belongs to no one.
                self.buf.copy_within(len..self.filled, 0);
                self.filled -= len;
                return status;
            }
            self.read_more().await;
        }
    }

    async fn read_more(&mut self) {
        if self.filled == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = self
            .stream
            .read(&mut self.buf[self.filled..])
            .await
            .expect("read");
        assert!(n > 0, "the server closed the connection");
        self.filled += n;
    }
}

/// The status and the whole answer's length, once its head is in `bytes`.
fn answer_len(bytes: &[u8]) -> Option<(u16, usize)> {
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&bytes[..head_end]).expect("a text head");
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let body = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .expect("answers with a content-length");
    Some((status, head_end + body))
}
