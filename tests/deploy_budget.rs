//! The grace periods in `deploy/` (and the Docker command in docs/operations.md) cover the
//! stop each file configures: the `--drain-seconds` it passes (or the default), plus the
//! worst case past the budget for the listeners and sink it turns on
//! (`micromodel::stop::worst_case_grace`), plus Kubernetes' `preStop` sleep, which runs
//! inside the grace period before the SIGTERM.

use std::path::Path;
use std::time::Duration;

use clap::Parser;
use micromodel::cli::{Cli, Command};

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("read {}: {e}", full.display()))
}

/// What a stop takes at worst for `serve` run with `args`, parsed by the real command line.
fn worst_stop(args: &[String]) -> Duration {
    let argv = std::iter::once("micromodel".to_owned()).chain(args.iter().cloned());
    let Command::Serve(serve) = Cli::try_parse_from(argv)
        .unwrap_or_else(|e| panic!("`serve` rejects {args:?}: {e}"))
        .into_command()
    else {
        panic!("not a serve command: {args:?}");
    };
    Duration::from_secs(serve.drain_seconds)
        + micromodel::stop::worst_case_grace(serve.admin_addr.is_some(), serve.sink.sink.is_some())
}

/// The value of `key: N` on the one line that sets it (YAML) or `Key=N` (systemd).
fn number_after(text: &str, key: &str) -> u64 {
    let values: Vec<u64> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.trim().strip_prefix(key))
        .map(|v| v.trim().parse().unwrap_or_else(|e| panic!("{key}{v}: {e}")))
        .collect();
    assert_eq!(values.len(), 1, "exactly one {key:?} in the file");
    values[0]
}

/// The container's `args:` list of a manifest (one `- item` per line, quotes removed).
fn k8s_args(manifest: &str) -> Vec<String> {
    let mut lines = manifest.lines().skip_while(|l| l.trim() != "args:");
    let header = lines.next().expect("an args: list");
    let indent = header.len() - header.trim_start().len();
    lines
        .map(str::trim_end)
        .filter(|l| !l.trim_start().starts_with('#'))
        .take_while(|l| l.len() - l.trim_start().len() > indent && l.trim_start().starts_with("- "))
        .map(|l| l.trim_start()[2..].trim().trim_matches('"').to_owned())
        .collect()
}

/// The `preStop` sleep in seconds (0 without one).
fn pre_stop_seconds(manifest: &str) -> u64 {
    let Some(at) = manifest.find("preStop:") else {
        return 0;
    };
    let rest = &manifest[at..];
    let sleep = rest.find("sleep:").expect("preStop is a sleep");
    number_after(
        &rest[sleep..].lines().take(3).collect::<Vec<_>>().join("\n"),
        "seconds:",
    )
}

fn assert_covers(file: &str, grace: Duration, needed: Duration) {
    assert!(
        grace >= needed,
        "{file}: a grace of {grace:?} is less than the {needed:?} the stop may take"
    );
}

#[test]
fn systemd_timeout_stop_sec_covers_the_stop_of_its_exec_start() {
    let unit = read("deploy/systemd/micromodel.service");
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart=");
    let args: Vec<String> = exec.split_whitespace().skip(1).map(str::to_owned).collect();
    assert_eq!(args[0], "serve", "{exec}");
    let timeout = Duration::from_secs(number_after(&unit, "TimeoutStopSec="));
    assert_covers("micromodel.service", timeout, worst_stop(&args));
}

#[test]
fn kubernetes_grace_periods_cover_pre_stop_and_the_stop_of_their_args() {
    for file in [
        "deploy/k8s/base/statefulset.yaml",
        "deploy/k8s/overlays/object-storage/deployment.yaml",
    ] {
        let manifest = read(file);
        let args = k8s_args(&manifest);
        assert!(
            args.iter().any(|a| a == "--drain-seconds"),
            "{file}: {args:?}"
        );
        let grace = Duration::from_secs(number_after(&manifest, "terminationGracePeriodSeconds:"));
        let pre_stop = Duration::from_secs(pre_stop_seconds(&manifest));
        assert!(pre_stop > Duration::ZERO, "{file}: a preStop sleep");
        assert_covers(file, grace, pre_stop + worst_stop(&args));
    }
}

/// Every `--stop-timeout N` in the Dockerfile's comment and in docs/operations.md is one value,
/// and it covers the stop of the image's CMD.
#[test]
fn docker_stop_timeout_is_one_value_that_covers_the_images_cmd() {
    let dockerfile = read("deploy/docker/Dockerfile");
    let mut timeouts: Vec<(String, u64)> = Vec::new();
    for (file, text) in [
        ("Dockerfile", dockerfile.as_str()),
        ("operations.md", &read("docs/operations.md")),
    ] {
        for (at, _) in text.match_indices("--stop-timeout ") {
            let value: String = text[at + 15..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            // `--stop-timeout = ...` in prose is not a value.
            if let Ok(seconds) = value.parse() {
                timeouts.push((file.to_owned(), seconds));
            }
        }
    }
    assert!(
        timeouts.len() >= 3,
        "the Dockerfile and operations.md name it: {timeouts:?}"
    );
    assert!(
        timeouts.iter().all(|(_, t)| *t == timeouts[0].1),
        "one --stop-timeout everywhere: {timeouts:?}"
    );
    let cmd = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("CMD "))
        .expect("a CMD");
    let args: Vec<String> = serde_json::from_str(cmd).expect("CMD is a JSON array");
    assert_covers(
        "Dockerfile",
        Duration::from_secs(timeouts[0].1),
        worst_stop(&args),
    );
}
