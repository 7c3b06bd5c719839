//! Torn-line repair: a crash in the middle of an append can leave a last line without its
//! `'\n'`; it is cut off so that the next append starts on a fresh line.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use tracing::warn;

use crate::layout;

/// Cuts a torn last line: if the file's last byte is not `'\n'`, truncates the file right after
/// its last `'\n'` (or to zero bytes when it has none) and syncs it.
///
/// Returns the number of bytes cut, or `None` when the file was empty or already ended with a
/// newline.
pub fn repair_torn_tail(path: &Path) -> io::Result<Option<u64>> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(None);
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(None);
    }
    let keep = last_newline(&mut file, len)?.map_or(0, |pos| pos + 1);
    file.set_len(keep)?;
    file.sync_all()?;
    Ok(Some(len - keep))
}

/// Offset of the last `'\n'` among the first `len` bytes, read backwards in chunks.
fn last_newline(file: &mut File, len: u64) -> io::Result<Option<u64>> {
    const CHUNK: u64 = 64 * 1024;
    let mut buf = vec![0u8; CHUNK as usize];
    let mut end = len;
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(start + i as u64));
        }
        end = start;
    }
    Ok(None)
}

/// Repairs every `<data_dir>/<workflow>/<date>/data.jsonl` and `labels.jsonl`, logging each cut.
///
/// Only an unreadable `data_dir` is an error; a sub-folder or file that cannot be read or
/// repaired is logged and skipped, so one bad file does not keep the proxy from starting.
pub(crate) fn repair_data_dir(data_dir: &Path) -> io::Result<()> {
    for workflow in fs::read_dir(data_dir)? {
        let workflow = match workflow {
            Ok(entry) => entry.path(),
            Err(error) => {
                warn!(path = %data_dir.display(), %error, "cannot list data dir entry");
                continue;
            }
        };
        if !workflow.is_dir() {
            continue;
        }
        let dates = match fs::read_dir(&workflow) {
            Ok(dates) => dates,
            Err(error) => {
                warn!(path = %workflow.display(), %error, "cannot list workflow folder; not repaired");
                continue;
            }
        };
        for date in dates.flatten() {
            let day = date.path();
            for path in [layout::data_file_in(&day), layout::labels_file_in(&day)] {
                if !path.is_file() {
                    continue;
                }
                match repair_torn_tail(&path) {
                    Ok(Some(bytes_cut)) => {
                        warn!(path = %path.display(), bytes_cut, "cut torn last line left by a crash");
                    }
                    Ok(None) => {}
                    Err(error) => {
                        warn!(path = %path.display(), %error, "cannot check data file for a torn last line");
                    }
                }
            }
        }
    }
    Ok(())
}
