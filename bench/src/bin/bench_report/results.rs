//! Reading the raw results `bench/run.sh` left: files per phase, side and repetition, medians,
//! and the fields of oha's JSON output.

use std::path::PathBuf;

use serde_json::Value;

/// The results folder of one `bench/run.sh` run.
pub struct Run {
    /// The folder (`--dir`).
    pub dir: PathBuf,
    /// Repetitions per phase (`--reps`); files are numbered from 1.
    pub reps: usize,
}

impl Run {
    /// The JSON file `name`, if it exists and parses.
    pub fn json(&self, name: &str) -> Option<Value> {
        let text = std::fs::read_to_string(self.dir.join(name)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// The number in file `name`, if it exists and parses.
    pub fn number(&self, name: &str) -> Option<f64> {
        std::fs::read_to_string(self.dir.join(name))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Per repetition: `f(direct, proxy)` where both files exist.
    pub fn pairs<T>(
        &self,
        phase: &str,
        mut f: impl FnMut(&Value, &Value, usize) -> Option<T>,
    ) -> Vec<T> {
        (1..=self.reps)
            .filter_map(|r| {
                let direct = self.json(&format!("{phase}-direct-{r}.json"))?;
                let proxy = self.json(&format!("{phase}-proxy-{r}.json"))?;
                f(&direct, &proxy, r)
            })
            .collect()
    }

    /// The JSON files `name(r)` of every repetition that has one.
    pub fn each(&self, name: impl Fn(usize) -> String) -> Vec<Value> {
        (1..=self.reps)
            .filter_map(|r| self.json(&name(r)))
            .collect()
    }

    /// The numbers in files `name(r)` of every repetition that has one.
    pub fn each_number(&self, name: impl Fn(usize) -> String) -> Vec<f64> {
        (1..=self.reps)
            .filter_map(|r| self.number(&name(r)))
            .collect()
    }
}

/// The median of the finite `values`, if any.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// The number at `path` in `value`.
pub fn get(value: &Value, path: &[&str]) -> Option<f64> {
    let mut at = value;
    for key in path {
        at = at.get(key)?;
    }
    at.as_f64()
}

/// oha: responses by status code.
pub fn oha_statuses(value: &Value) -> (f64, f64) {
    let mut ok = 0.0;
    let mut other = 0.0;
    if let Some(map) = value
        .get("statusCodeDistribution")
        .and_then(Value::as_object)
    {
        for (code, count) in map {
            let count = count.as_f64().unwrap_or(0.0);
            if code.starts_with('2') {
                ok += count;
            } else {
                other += count;
            }
        }
    }
    (ok, other)
}

/// oha: errors other than requests cut by the end of the run (`-z`).
pub fn oha_errors(value: &Value) -> Vec<(String, f64)> {
    value
        .get("errorDistribution")
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter(|(what, _)| !what.contains("deadline"))
                .map(|(what, n)| (what.clone(), n.as_f64().unwrap_or(0.0)))
                .collect()
        })
        .unwrap_or_default()
}

/// oha: latency percentile `p` (`p50`, ...) in milliseconds.
pub fn oha_latency_ms(value: &Value, p: &str) -> Option<f64> {
    get(value, &["latencyPercentiles", p]).map(|s| s * 1000.0)
}
