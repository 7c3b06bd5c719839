//! Where `export` writes: stdout, one file, or (with `--split`) a train and a valid file.
//!
//! Files are written under a temporary name beside the target (`.NAME.partial-PID`) and
//! renamed when complete, so a failed or interrupted export never leaves a half file under the
//! final name. `--split R` sends a record to train when a hash of the seed and the record's
//! prompt (messages before the answer, plus tools) falls below R: the same seed and data give
//! the same split, and the choices of one request (n > 1) or repeats of one prompt never end up
//! on both sides.

use std::fs::{self, File};
use std::io::{self, BufWriter, Stdout, Write};
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::error::DatasetError;

/// `FILE`'s two parts under `--split`: `NAME.train.EXT` and `NAME.valid.EXT`
/// (`out.jsonl` → `out.train.jsonl`, `out.valid.jsonl`; no extension: `out.train.jsonl`).
pub fn split_paths(out: &Path) -> (PathBuf, PathBuf) {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = out
        .extension()
        .map_or_else(|| "jsonl".to_owned(), |e| e.to_string_lossy().into_owned());
    (
        out.with_file_name(format!("{stem}.train.{ext}")),
        out.with_file_name(format!("{stem}.valid.{ext}")),
    )
}

/// Whether a record with this prompt hash goes to the train part.
pub fn goes_to_train(prompt_hash: u128, seed: u64, ratio: f64) -> bool {
    let h = xxh3_64_with_seed(&prompt_hash.to_le_bytes(), seed);
    ((h >> 11) as f64 / (1u64 << 53) as f64) < ratio
}

/// One output file being written under its temporary name.
struct Part {
    path: PathBuf,
    temp: PathBuf,
    writer: BufWriter<File>,
    lines: u64,
    done: bool,
}

impl Part {
    fn create(path: &Path) -> Result<Part, DatasetError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "export".to_owned());
        let temp = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
        let file = File::create(&temp).map_err(|source| write_error(path, source))?;
        Ok(Part {
            path: path.to_path_buf(),
            temp,
            writer: BufWriter::with_capacity(256 * 1024, file),
            lines: 0,
            done: false,
        })
    }

    fn write(&mut self, line: &[u8]) -> Result<(), DatasetError> {
        self.lines += 1;
        self.writer
            .write_all(line)
            .map_err(|source| write_error(&self.path, source))
    }

    fn finish(mut self) -> Result<(PathBuf, u64), DatasetError> {
        let flushed = self
            .writer
            .flush()
            .and_then(|()| self.writer.get_ref().sync_all())
            .and_then(|()| fs::rename(&self.temp, &self.path));
        flushed.map_err(|source| write_error(&self.path, source))?;
        self.done = true;
        Ok((self.path.clone(), self.lines))
    }
}

impl Drop for Part {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

enum Sinks {
    Stdout(BufWriter<Stdout>, u64),
    File(Part),
    Split {
        ratio: f64,
        seed: u64,
        train: Part,
        valid: Part,
    },
}

/// The output of one export.
pub struct Output(Sinks);

impl Output {
    /// Stdout when `out` is `None`; `out`, or its two split parts with `split`.
    pub fn create(out: Option<&Path>, split: Option<f64>, seed: u64) -> Result<Self, DatasetError> {
        let sinks = match (out, split) {
            (None, None) => Sinks::Stdout(BufWriter::with_capacity(256 * 1024, io::stdout()), 0),
            (None, Some(_)) => return Err(DatasetError::SplitNeedsOut),
            (Some(out), None) => Sinks::File(Part::create(out)?),
            (Some(out), Some(ratio)) => {
                let (train, valid) = split_paths(out);
                Sinks::Split {
                    ratio,
                    seed,
                    train: Part::create(&train)?,
                    valid: Part::create(&valid)?,
                }
            }
        };
        Ok(Output(sinks))
    }

    /// Writes one line (with its newline); `prompt_hash` picks the part under `--split`.
    pub fn write(&mut self, line: &[u8], prompt_hash: u128) -> Result<(), DatasetError> {
        match &mut self.0 {
            Sinks::Stdout(writer, lines) => {
                *lines += 1;
                writer
                    .write_all(line)
                    .map_err(|source| write_error(Path::new("-"), source))
            }
            Sinks::File(part) => part.write(line),
            Sinks::Split {
                ratio,
                seed,
                train,
                valid,
            } => {
                if goes_to_train(prompt_hash, *seed, *ratio) {
                    train.write(line)
                } else {
                    valid.write(line)
                }
            }
        }
    }

    /// Flushes and renames into place; returns each target (`-` for stdout) and its lines.
    pub fn finish(self) -> Result<Vec<(PathBuf, u64)>, DatasetError> {
        match self.0 {
            Sinks::Stdout(mut writer, lines) => {
                writer
                    .flush()
                    .map_err(|source| write_error(Path::new("-"), source))?;
                Ok(vec![(PathBuf::from("-"), lines)])
            }
            Sinks::File(part) => Ok(vec![part.finish()?]),
            Sinks::Split { train, valid, .. } => Ok(vec![train.finish()?, valid.finish()?]),
        }
    }
}

fn write_error(path: &Path, source: io::Error) -> DatasetError {
    DatasetError::Write {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_names() {
        assert_eq!(
            split_paths(Path::new("dir/out.jsonl")),
            (
                PathBuf::from("dir/out.train.jsonl"),
                PathBuf::from("dir/out.valid.jsonl")
            )
        );
        assert_eq!(
            split_paths(Path::new("out")),
            (
                PathBuf::from("out.train.jsonl"),
                PathBuf::from("out.valid.jsonl")
            )
        );
    }

    #[test]
    fn split_ratio_is_roughly_kept() {
        let train = (0..10_000u128)
            .filter(|i| goes_to_train(i.wrapping_mul(0x9e37_79b9_7f4a_7c15), 7, 0.9))
            .count();
        assert!((8_800..9_200).contains(&train), "{train}");
    }
}
