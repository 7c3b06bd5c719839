//! Sealing: an open segment is compressed into `<spool>/sealed/<key>.tmp`, synced, and renamed
//! to `<spool>/sealed/<key>` — its final object key, fixed from then on — and only then is
//! the open file removed. A crash at any point leaves either the open file (sealed again at
//! the next start, to the same name) or the complete sealed file (the open one is dropped).
//! Blocking file IO and CPU: runs on a blocking thread.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::SystemTime;

use crate::layout::{self, Compression, SegmentKey};
use crate::recorder::DataMode;

use super::files;
use super::staged::{Ready, Sealed};

/// gzip level 1: on generated record lines (bench_gen_records) 3.8:1 against level 6's 4.4:1,
/// at a quarter of its CPU. With level 6 a sink run had 15 % more instructions per request than
/// a run without it; at level 1 the sink's own share is 1.7 % (docs/object-storage.md,
/// "Performance").
const GZIP_LEVEL: u32 = 1;
/// zstd level: 3 (zstd's default).
const ZSTD_LEVEL: i32 = 3;
/// How much of the open file the compressor gets per call. flate2's encoder with miniz_oxide
/// costs about 9 instructions a byte when fed 8 KiB at a time (`BufReader`'s default) and about
/// 5 at 256 KiB: the per-call overhead (block flushes, buffer copies) is paid per call, not
/// per byte. `io::copy` hands a `BufReader`'s whole buffer over, so its capacity is the chunk.
const READ_CHUNK: usize = 256 * 1024;

/// Compresses `ready` into its sealed file below `sealed_dir` and removes the open file.
/// Returns the sealed segment and the size of the open file it replaced.
pub(crate) fn seal(
    ready: &Ready,
    sealed_dir: &Path,
    compression: Compression,
    mode: DataMode,
) -> io::Result<(Sealed, u64)> {
    let key = SegmentKey {
        compression,
        ..ready.key.clone()
    };
    let path = sealed_dir.join(layout::segment_key(&key));
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("a sealed segment path has no folder"))?;
    let input = File::open(&ready.path)?;
    let open_len = input.metadata()?.len();
    let out = files::create_in_folder(mode, &tmp, files::create_truncated)?;
    let result = compress(
        BufReader::with_capacity(READ_CHUNK, input),
        out,
        compression,
    );
    let file = match result {
        Ok(file) => file,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    file.sync_all()?;
    let bytes = file.metadata()?.len();
    drop(file);
    fs::rename(&tmp, &path)?;
    // Best effort: some filesystems refuse to sync a folder.
    let _ = File::open(dir).and_then(|d| d.sync_all());
    fs::remove_file(&ready.path)?;
    if let Some(parent) = ready.path.parent() {
        // Empty partition folders go; a non-empty one stays (the error is expected).
        let _ = fs::remove_dir(parent);
    }
    Ok((
        Sealed {
            path,
            key,
            bytes,
            sealed_at: SystemTime::now(),
        },
        open_len,
    ))
}

/// Copies `input` into `out` through the compressor; returns `out` once everything is in it.
fn compress(mut input: impl io::Read, out: File, compression: Compression) -> io::Result<File> {
    let out = BufWriter::with_capacity(256 * 1024, out);
    let out = match compression {
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::new(GZIP_LEVEL));
            io::copy(&mut input, &mut enc)?;
            enc.finish()?
        }
        Compression::Zstd => {
            let mut enc = zstd::stream::write::Encoder::new(out, ZSTD_LEVEL)?;
            io::copy(&mut input, &mut enc)?;
            enc.finish()?
        }
        Compression::None => {
            let mut out = out;
            io::copy(&mut input, &mut out)?;
            out
        }
    };
    let mut out = out;
    out.flush()?;
    out.into_inner().map_err(|e| e.into_error())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::io::Read;

    fn ready(dir: &Path, body: &str) -> Ready {
        let key = SegmentKey {
            workflow: "wf".into(),
            date: chrono::NaiveDate::from_ymd_opt(2025, 8, 4).expect("date"),
            instance: "i".into(),
            first_record: chrono::Utc
                .with_ymd_and_hms(2025, 8, 4, 1, 2, 3)
                .single()
                .expect("time"),
            seq: 7,
            compression: Compression::None,
            kind: layout::SegmentKind::Records,
        };
        let path = dir.join("open").join(layout::segment_key(&key));
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, body).expect("write");
        Ready { path, key }
    }

    #[test]
    fn every_compression_round_trips_and_removes_the_open_file() {
        let body = "{\"a\":1}\n".repeat(1000);
        for compression in Compression::ALL {
            let dir = tempfile::tempdir().expect("tempdir");
            let r = ready(dir.path(), &body);
            let (sealed, open_len) = seal(
                &r,
                &dir.path().join("sealed"),
                compression,
                DataMode::default(),
            )
            .expect("seal");
            assert_eq!(open_len, body.len() as u64);
            assert!(!r.path.exists());
            assert!(!r.path.parent().expect("parent").exists());
            let rel = sealed
                .path
                .strip_prefix(dir.path().join("sealed"))
                .expect("below sealed");
            assert_eq!(
                layout::parse_segment_key(rel.to_str().expect("utf-8")),
                Some(sealed.key.clone())
            );
            let raw = fs::read(&sealed.path).expect("read");
            assert_eq!(raw.len() as u64, sealed.bytes);
            let mut text = String::new();
            match compression {
                Compression::Gzip => flate2::read::GzDecoder::new(&raw[..])
                    .read_to_string(&mut text)
                    .map(drop),
                Compression::Zstd => zstd::stream::read::Decoder::new(&raw[..])
                    .and_then(|mut d| d.read_to_string(&mut text))
                    .map(drop),
                Compression::None => {
                    text = String::from_utf8(raw).expect("utf-8");
                    Ok(())
                }
            }
            .expect("decompress");
            assert_eq!(text, body);
        }
    }

    #[test]
    fn sealed_files_and_folders_get_the_data_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let r = ready(dir.path(), "x\n");
        let mode = DataMode::new(0o600, 0o700).expect("mode");
        let (sealed, _) =
            seal(&r, &dir.path().join("sealed"), Compression::Gzip, mode).expect("seal");
        let bits = |p: &Path| fs::metadata(p).expect("stat").permissions().mode() & 0o7777;
        assert_eq!(bits(&sealed.path), 0o600);
        let mut folder = sealed.path.parent();
        while let Some(f) = folder.filter(|f| *f != dir.path()) {
            assert_eq!(bits(f), 0o700, "{}", f.display());
            folder = f.parent();
        }
    }

    #[test]
    fn a_missing_open_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = ready(dir.path(), "x\n");
        fs::remove_file(&r.path).expect("rm");
        assert!(seal(
            &r,
            &dir.path().join("sealed"),
            Compression::Gzip,
            DataMode::default()
        )
        .is_err());
    }
}
