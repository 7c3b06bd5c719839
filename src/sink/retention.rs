//! `--local-retention-days N`: deletes local day folders (`<data_dir>/<workflow>/<DD-MM-YYYY>/`)
//! older than N days, but only those the sink fully shipped: the day went to the spool (its
//! marker `@spool/days/<workflow>/<YYYY-MM-DD>` exists), none of its records or labels was
//! refused by the spool (no `.unspooled` marker), and no segment of it (records or labels)
//! waits in `@spool/open/` or `@spool/sealed/`. A day recorded before the sink was turned on has no marker: never deleted.
//! Blocking file IO: runs on a blocking thread.

use std::fs;
use std::path::Path;

use chrono::NaiveDate;
use tracing::{info, warn};

use crate::layout;

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Pass {
    /// Day folders deleted.
    pub deleted: u64,
    /// Old day folders kept because the sink has not (fully) shipped them.
    pub kept: u64,
}

/// True when the spool still holds a segment (of records or of labels) of that workflow day.
fn has_pending(spool: &Path, workflow: &str, date: NaiveDate) -> bool {
    [layout::SPOOL_OPEN, layout::SPOOL_SEALED]
        .iter()
        .flat_map(|stage| {
            let stage = spool.join(stage);
            [stage.join(layout::LABELS_DIR), stage]
        })
        .any(|stage| {
            let dir = layout::spool_partition_dir(&stage, workflow, date);
            fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
        })
}

/// One pass over `data_dir`: deletes the shipped day folders dated before `today - days`.
pub(crate) fn run(data_dir: &Path, days: u32, today: NaiveDate) -> Pass {
    let mut pass = Pass::default();
    let Some(cutoff) = today.checked_sub_days(chrono::Days::new(u64::from(days))) else {
        return pass;
    };
    let spool = layout::spool_dir(data_dir);
    let Ok(workflows) = fs::read_dir(data_dir) else {
        return pass;
    };
    for wf in workflows.flatten() {
        let Some(workflow) = wf.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if layout::is_spool_folder(&workflow) || !wf.path().is_dir() {
            continue;
        }
        let Ok(day_dirs) = fs::read_dir(wf.path()) else {
            continue;
        };
        for day in day_dirs.flatten() {
            let Some(date) = day.file_name().to_str().and_then(layout::parse_day_folder) else {
                continue;
            };
            if date >= cutoff {
                continue;
            }
            let marker = layout::spool_day_marker(&spool, &workflow, date);
            let unspooled = layout::spool_unspooled_marker(&spool, &workflow, date);
            if !marker.is_file() || unspooled.exists() || has_pending(&spool, &workflow, date) {
                pass.kept += 1;
                continue;
            }
            match fs::remove_dir_all(day.path()) {
                Ok(()) => {
                    pass.deleted += 1;
                    let _ = fs::remove_file(&marker);
                    info!(path = %day.path().display(), "local day folder deleted (--local-retention-days): it is in the bucket");
                }
                Err(error) => {
                    warn!(path = %day.path().display(), %error, "cannot delete an old local day folder");
                }
            }
        }
    }
    pass
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 8, d).expect("date")
    }

    fn day(data: &Path, wf: &str, d: u32) -> std::path::PathBuf {
        let dir = layout::day_dir(data, wf, date(d));
        fs::create_dir_all(&dir).expect("mkdir");
        fs::write(layout::data_file_in(&dir), "{}\n").expect("write");
        dir
    }

    fn mark(data: &Path, wf: &str, d: u32, unspooled: bool) {
        let spool = layout::spool_dir(data);
        let p = if unspooled {
            layout::spool_unspooled_marker(&spool, wf, date(d))
        } else {
            layout::spool_day_marker(&spool, wf, date(d))
        };
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, "").expect("marker");
    }

    #[test]
    fn deletes_only_old_fully_shipped_days() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path();
        let shipped = day(data, "wf", 1);
        mark(data, "wf", 1, false);
        let never_spooled = day(data, "wf", 2);
        let partly = day(data, "wf", 3);
        mark(data, "wf", 3, false);
        mark(data, "wf", 3, true);
        let pending = day(data, "wf", 4);
        mark(data, "wf", 4, false);
        let seg = layout::spool_partition_dir(
            &layout::spool_dir(data).join(layout::SPOOL_SEALED),
            "wf",
            date(4),
        );
        fs::create_dir_all(&seg).expect("mkdir");
        fs::write(seg.join("x.jsonl.gz"), "").expect("seg");
        let labels_pending = day(data, "wf", 5);
        mark(data, "wf", 5, false);
        let seg = layout::spool_partition_dir(
            &layout::spool_dir(data)
                .join(layout::SPOOL_OPEN)
                .join(layout::LABELS_DIR),
            "wf",
            date(5),
        );
        fs::create_dir_all(&seg).expect("mkdir");
        fs::write(seg.join("x.jsonl"), "{}\n").expect("labels seg");
        let recent = day(data, "wf", 9);
        mark(data, "wf", 9, false);
        let pass = run(data, 2, date(11));
        assert_eq!(
            pass,
            Pass {
                deleted: 1,
                kept: 4
            }
        );
        assert!(!shipped.exists());
        for kept in [&never_spooled, &partly, &pending, &labels_pending, &recent] {
            assert!(kept.exists(), "{}", kept.display());
        }
        assert!(
            layout::spool_dir(data).is_dir(),
            "the spool is never touched"
        );
    }
}
