//! One object streamed and decompressed as it is read, never downloaded whole: a task on the
//! bucket's runtime sends the GET response's body chunks through a bounded channel
//! ([`CHUNKS`] chunks), and a blocking [`Read`] on the tool's side takes them; the decoder
//! (gzip, zstd or none, by the name's ending) reads from that. Memory: a few chunks per open
//! object, whatever its size.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;

use bytes::{Buf, Bytes};
use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use tokio::sync::mpsc;

use crate::layout::Compression;

/// Body chunks in flight per open object.
const CHUNKS: usize = 8;
/// Read buffer of the decoded lines.
const BUFFER: usize = 256 * 1024;

/// Opens `key` for reading, decoded as `compression` says.
pub(super) fn open(
    runtime: &tokio::runtime::Handle,
    store: Arc<dyn ObjectStore>,
    key: ObjectPath,
    compression: Compression,
) -> io::Result<Box<dyn BufRead + Send>> {
    let (tx, rx) = mpsc::channel(CHUNKS);
    let task = runtime.spawn(async move {
        let mut body = match store.get(&key).await {
            Ok(got) => got.into_stream(),
            Err(error) => {
                let _ = tx.send(Err(error)).await;
                return;
            }
        };
        while let Some(chunk) = body.next().await {
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                return;
            }
        }
    });
    let body = Body {
        rx,
        chunk: Bytes::new(),
        task,
    };
    Ok(match compression {
        Compression::Gzip => Box::new(BufReader::with_capacity(
            BUFFER,
            flate2::read::MultiGzDecoder::new(body),
        )),
        Compression::Zstd => Box::new(BufReader::with_capacity(
            BUFFER,
            zstd::stream::read::Decoder::new(body)?,
        )),
        Compression::None => Box::new(BufReader::with_capacity(BUFFER, body)),
    })
}

/// The tool's side of one object's body.
struct Body {
    rx: mpsc::Receiver<object_store::Result<Bytes>>,
    chunk: Bytes,
    task: tokio::task::JoinHandle<()>,
}

impl Read for Body {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(error)) => return Err(io::Error::other(error)),
            }
        }
        let n = out.len().min(self.chunk.len());
        out[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        // An object closed before its end (e.g. `export | head`): stop its download.
        self.task.abort();
    }
}
