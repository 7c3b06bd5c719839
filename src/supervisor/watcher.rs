//! Watching config.json: the parent folder is watched (so saves by rename, `sed -i` and
//! Kubernetes' `..data` symlink swap are all seen), bursts are debounced, and the watch is
//! re-created when the folder is replaced or the watcher fails. SIGHUP works regardless.
//! Only events for the config file (and `..data`) count; events for other files of the
//! folder are dropped unlogged (and `logging` keeps the notify crate's own per-event trace
//! lines off), so a log file written into the folder cannot feed the watcher.

use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::Control;

/// Quiet time after the last relevant event before a reload is asked for.
///
/// One save is a burst of events (an editor writes a temporary file, renames it over the
/// config and may touch it again; `sed -i` and Kubernetes' `..data` swap are similar; a
/// large `cp` arrives as several writes), and reading at the first one could see a half
/// written file and log a spurious "Reload rejected". Waiting for a quiet spell turns one
/// save into one reload. The events of one save come within milliseconds of each other, so
/// 300 ms leaves a wide margin on a loaded machine while a reload still follows a save
/// faster than an operator can switch to the log (Vector waits 1 s; its configs are larger
/// and its reloads rebuild whole topologies). Too short costs at worst one rejected reload,
/// which changes nothing, and the last write of the burst triggers the next one.
pub const DEBOUNCE: Duration = Duration::from_millis(300);
/// How often the watched folder's identity is checked (to re-add the watch).
const RECHECK: Duration = Duration::from_secs(2);

/// Watches `config` and sends [`Control::ConfigChanged`] after each debounced burst.
/// The watch is in place when this returns (call it before reading the config, so that no
/// change can slip between the read and the watch). Runs until `control` is closed.
pub fn spawn(config: PathBuf, control: mpsc::Sender<Control>) -> tokio::task::JoinHandle<()> {
    let folder = match config.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (events_tx, events) = mpsc::unbounded_channel::<notify::Result<Event>>();
    let watch = Watch::new(&folder, events_tx.clone());
    tokio::spawn(async move { run(config, folder, watch, events_tx, events, control).await })
}

async fn run(
    config: PathBuf,
    folder: PathBuf,
    mut watch: Watch,
    events_tx: mpsc::UnboundedSender<notify::Result<Event>>,
    mut events: mpsc::UnboundedReceiver<notify::Result<Event>>,
    control: mpsc::Sender<Control>,
) {
    let names: Vec<OsString> = [
        config.file_name().map(OsString::from),
        Some(OsString::from("..data")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut recheck = tokio::time::interval(RECHECK);
    let mut pending = false;
    let debounce = tokio::time::sleep(DEBOUNCE);
    tokio::pin!(debounce);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(Ok(event)) => {
                    // Other files of the folder (a log file written there, say) are dropped
                    // here, before anything is logged about them.
                    if is_about_config(&event, &names) {
                        debug!(kind = ?event.kind, "Config file event.");
                        pending = true;
                        debounce.as_mut().reset(tokio::time::Instant::now() + DEBOUNCE);
                    }
                }
                Some(Err(error)) => {
                    warn!(%error, folder = %folder.display(), "Config watcher failed; re-creating it.");
                    watch = Watch::new(&folder, events_tx.clone());
                    pending = true;
                    debounce.as_mut().reset(tokio::time::Instant::now() + DEBOUNCE);
                }
                None => return,
            },
            () = &mut debounce, if pending => {
                pending = false;
                if control.send(Control::ConfigChanged).await.is_err() {
                    return;
                }
            }
            _ = recheck.tick() => {
                if watch.is_stale(&folder) {
                    warn!(folder = %folder.display(), "Config folder was replaced; watching it again.");
                    watch = Watch::new(&folder, events_tx.clone());
                    pending = true;
                    debounce.as_mut().reset(tokio::time::Instant::now() + DEBOUNCE);
                }
            }
            () = control.closed() => return,
        }
    }
}

/// The event may change what config.json reads as: a content change to the config file
/// itself or to the Kubernetes `..data` link that it resolves through.
fn is_about_config(event: &Event, names: &[OsString]) -> bool {
    changes_content(&event.kind)
        && event
            .paths
            .iter()
            .any(|p| p.file_name().is_some_and(|n| names.iter().any(|w| w == n)))
}

/// Events that may change what config.json reads as. Opening and reading are not (our own
/// read of the config would otherwise trigger the next reload, forever).
fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Any
        | EventKind::Create(_)
        | EventKind::Modify(_)
        | EventKind::Remove(_)
        | EventKind::Other => true,
    }
}

/// One watch of the folder, with the folder's identity when it was set up.
struct Watch {
    _watcher: Option<RecommendedWatcher>,
    identity: Option<(u64, u64)>,
}

impl Watch {
    fn new(folder: &Path, events: mpsc::UnboundedSender<notify::Result<Event>>) -> Watch {
        let identity = identity(folder);
        let watcher = notify::recommended_watcher(move |event| {
            let _ = events.send(event);
        })
        .and_then(|mut watcher| {
            watcher
                .watch(folder, RecursiveMode::NonRecursive)
                .map(|()| watcher)
        });
        match watcher {
            Ok(watcher) => Watch {
                _watcher: Some(watcher),
                identity,
            },
            Err(error) => {
                warn!(%error, folder = %folder.display(), "Cannot watch the config folder; SIGHUP still reloads. Retrying.");
                Watch {
                    _watcher: None,
                    identity: None,
                }
            }
        }
    }

    /// The folder is gone, was replaced by another inode, or the watch could not be set up.
    fn is_stale(&self, folder: &Path) -> bool {
        self._watcher.is_none() || self.identity != identity(folder)
    }
}

fn identity(folder: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(folder).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, ModifyKind, RenameMode};

    fn event(kind: EventKind, paths: &[&str]) -> Event {
        let mut event = Event::new(kind);
        for path in paths {
            event = event.add_path(PathBuf::from(path));
        }
        event
    }

    #[test]
    fn only_the_config_file_and_the_data_link_count() {
        let names = [OsString::from("config.json"), OsString::from("..data")];
        let write = EventKind::Modify(ModifyKind::Any);
        assert!(is_about_config(&event(write, &["/c/config.json"]), &names));
        assert!(!is_about_config(
            &event(write, &["/c/micromodel.log"]),
            &names
        ));
        assert!(!is_about_config(
            &event(write, &["/c/config.json.swp"]),
            &names
        ));
        let swap = EventKind::Modify(ModifyKind::Name(RenameMode::Both));
        assert!(is_about_config(
            &event(swap, &["/c/..data_tmp", "/c/..data"]),
            &names
        ));
        let created = EventKind::Create(CreateKind::Folder);
        assert!(!is_about_config(&event(created, &["/c/..2024_01"]), &names));
        let read = EventKind::Access(AccessKind::Open(AccessMode::Read));
        assert!(!is_about_config(&event(read, &["/c/config.json"]), &names));
    }
}
