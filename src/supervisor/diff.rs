//! What a reload changes: listeners are keyed by bind address, so the diff of two configs is
//! which addresses appear, disappear, or stay with new settings.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::config::{Config, Workflow};

/// The difference between the config in force and a new one, by bind address.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Diff {
    /// Addresses only in the new config: to bind.
    pub added: Vec<Workflow>,
    /// Addresses only in the old config: to stop and drain.
    pub removed: Vec<SocketAddr>,
    /// Addresses in both whose settings differ (id, upstream, key, timeout): to swap.
    pub changed: Vec<Workflow>,
}

impl Diff {
    /// Compares two configs.
    pub fn between(old: &Config, new: &Config) -> Diff {
        let old_by_addr = by_addr(old);
        let new_by_addr = by_addr(new);
        let mut diff = Diff::default();
        for (addr, workflow) in &new_by_addr {
            match old_by_addr.get(addr) {
                None => diff.added.push((*workflow).clone()),
                Some(previous) if previous != workflow => diff.changed.push((*workflow).clone()),
                Some(_) => {}
            }
        }
        diff.removed = old_by_addr
            .keys()
            .filter(|addr| !new_by_addr.contains_key(addr))
            .copied()
            .collect();
        diff
    }
}

fn by_addr(config: &Config) -> BTreeMap<SocketAddr, &Workflow> {
    config.workflows.values().map(|w| (w.addr, w)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse, LoadOptions};

    fn config(text: &str) -> Config {
        parse(text, LoadOptions::default(), &|_| None).expect("valid config")
    }

    #[test]
    fn swap_of_ports_and_rename_are_changes_not_rebinds() {
        let old = config(
            r#"{"a":{"OPENAI_API_HOST":"http://x","PORT":3001},"b":{"OPENAI_API_HOST":"http://y","PORT":3002}}"#,
        );
        let new = config(
            r#"{"a":{"OPENAI_API_HOST":"http://x","PORT":3002},"c":{"OPENAI_API_HOST":"http://y","PORT":3001}}"#,
        );
        let diff = Diff::between(&old, &new);
        assert!(diff.added.is_empty());
        assert!(diff.removed.is_empty());
        let mut ids: Vec<&str> = diff.changed.iter().map(|w| w.id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["a", "c"]);
    }

    #[test]
    fn added_removed_and_identical() {
        let old = config(r#"{"a":{"OPENAI_API_HOST":"http://x","PORT":3001}}"#);
        let new = config(r#"{"b":{"OPENAI_API_HOST":"http://x","PORT":3002}}"#);
        let diff = Diff::between(&old, &new);
        assert_eq!(diff.added.len(), 1);
        assert_eq!(
            diff.removed,
            vec!["127.0.0.1:3001".parse::<SocketAddr>().expect("addr")]
        );
        assert_eq!(Diff::between(&old, &old), Diff::default());
    }

    #[test]
    fn from_the_empty_config_everything_is_added() {
        let empty = Config {
            workflows: BTreeMap::new(),
        };
        let first = config(
            r#"{"a":{"OPENAI_API_HOST":"http://x","PORT":3001},"b":{"OPENAI_API_HOST":"http://y","PORT":3002}}"#,
        );
        let diff = Diff::between(&empty, &first);
        assert_eq!(diff.added.len(), 2);
        assert!(diff.removed.is_empty() && diff.changed.is_empty());
    }
}
