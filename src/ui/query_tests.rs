//! The list's paging and filters over a small data folder.

use super::*;

fn write_day(root: &std::path::Path, day: &str, lines: &[(u32, &str, &str)]) {
    let dir = root.join("w").join(day);
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = String::new();
    for (n, model, content) in lines {
        let line = serde_json::json!({"messages": [
            {"role": "user", "content": content},
            {"role": "assistant", "content": format!("answer {n}")}],
            "timestamp": "2025-08-24T10:00:00Z", "endpoint": "/v1/chat/completions",
            "model": model, "workflow_id": "w", "request_id": format!("r{n}")});
        text.push_str(&line.to_string());
        text.push('\n');
    }
    text.push_str("torn");
    std::fs::write(dir.join("data.jsonl"), text).unwrap();
}

fn answers(page: &Page) -> Vec<String> {
    page.rows.iter().map(|r| r.answer.clone()).collect()
}

#[test]
fn newest_first_paged_and_filtered() {
    let root = tempfile::tempdir().unwrap();
    let many: Vec<(u32, &str, &str)> = (0..60).map(|n| (n, "a", "hello")).collect();
    write_day(root.path(), "23-08-2025", &many);
    write_day(
        root.path(),
        "24-08-2025",
        &[(100, "b", "Find the NEEDLE here"), (101, "a", "x")],
    );
    std::fs::write(
        root.path().join("w/23-08-2025/labels.jsonl"),
        concat!(
            "{\"timestamp\":\"t\",\"request_id\":\"r5\",\"label\":\"good\",\"source\":\"ui\"}\n",
            "{\"timestamp\":\"t\",\"request_id\":\"r6\",\"label\":\"bad\",\"source\":\"api\"}\n"
        ),
    )
    .unwrap();
    let dirs = vec![root.path().to_path_buf()];
    let cache = crate::ui::summary::SummaryCache::default();
    let source = crate::ui::source::Local {
        dirs: &dirs,
        cache: &cache,
    };
    let first = list(&source, &Filter::default()).unwrap();
    assert_eq!(first.rows.len(), PER_PAGE);
    assert!(first.has_more);
    assert_eq!(
        answers(&first)[..3],
        ["answer 101", "answer 100", "answer 59"]
    );
    let second = list(
        &source,
        &Filter {
            page: 1,
            ..Filter::default()
        },
    )
    .unwrap();
    assert_eq!(second.rows.len(), 12);
    assert!(!second.has_more);
    assert_eq!(second.rows.last().unwrap().answer, "answer 0");
    let model = list(
        &source,
        &Filter {
            model: "b".into(),
            ..Filter::default()
        },
    )
    .unwrap();
    assert_eq!(answers(&model), ["answer 100"]);
    let q = list(
        &source,
        &Filter {
            q: "needle".into(),
            ..Filter::default()
        },
    )
    .unwrap();
    assert_eq!(answers(&q), ["answer 100"]);
    let good = list(
        &source,
        &Filter {
            label: "good".into(),
            ..Filter::default()
        },
    )
    .unwrap();
    assert_eq!(answers(&good), ["answer 5"]);
    assert_eq!(good.rows[0].label.as_ref().unwrap().label, "good");
    let labelled = list(
        &source,
        &Filter {
            label: "labelled".into(),
            ..Filter::default()
        },
    );
    assert_eq!(answers(&labelled.unwrap()), ["answer 6", "answer 5"]);
    let day = list(
        &source,
        &Filter {
            day: "2025-08-24".into(),
            ..Filter::default()
        },
    );
    assert_eq!(day.unwrap().rows.len(), 2);
    let place = first.rows[1].place.clone();
    let found = find(&source, &place).unwrap().unwrap();
    assert_eq!(found.record.request_id(), Some("r100"));
    let missing = Place { line: 999, ..place };
    assert!(find(&source, &missing).unwrap().is_none());
}

/// Writes `lines` (label lines: id, label, unmatched) to `w/<day>/labels.jsonl`.
fn write_labels(root: &std::path::Path, day: &str, lines: &[(&str, &str, bool)]) {
    let dir = root.join("w").join(day);
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = String::new();
    for (id, label, unmatched) in lines {
        let mut line = serde_json::json!({"timestamp": "2025-09-01T10:00:00.000Z",
            "request_id": id, "choice": 0, "label": label, "source": "feedback"});
        if *unmatched {
            line["unmatched"] = serde_json::json!(true);
        }
        text.push_str(&line.to_string());
        text.push('\n');
    }
    std::fs::write(dir.join("labels.jsonl"), text).unwrap();
}

#[test]
fn unmatched_labels_of_later_days_apply_within_the_window() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_day(
        a.path(),
        "01-09-2025",
        &[(1, "m", "x"), (2, "m", "x"), (3, "m", "x")],
    );
    // Another replica's folder got the feedback, without the records: r1 three days on, r2
    // past the window; r3's line on day 3 is not unmatched (a label of a record of day 3).
    write_labels(
        b.path(),
        "04-09-2025",
        &[("r1", "good", true), ("r3", "bad", false)],
    );
    write_labels(b.path(), "09-09-2025", &[("r2", "good", true)]);
    let dirs = vec![a.path().to_path_buf(), b.path().to_path_buf()];
    let cache = crate::ui::summary::SummaryCache::default();
    let source = crate::ui::source::Local {
        dirs: &dirs,
        cache: &cache,
    };
    let labelled = list(
        &source,
        &Filter {
            label: "labelled".into(),
            ..Filter::default()
        },
    )
    .unwrap();
    assert_eq!(answers(&labelled), ["answer 1"]);
    let found = find(&source, &labelled.rows[0].place).unwrap().unwrap();
    assert_eq!(found.label.unwrap().label, "good");
    let unlabelled = list(
        &source,
        &Filter {
            label: "unlabelled".into(),
            day: "2025-09-01".into(),
            ..Filter::default()
        },
    )
    .unwrap();
    assert_eq!(answers(&unlabelled), ["answer 3", "answer 2"]);
    // The overview counts the labels of its days' records the same way.
    let overview = crate::ui::overview_data::build(&source, None, None).unwrap();
    let w = &overview.workflows["w"];
    assert_eq!((w.labelled, w.good, w.bad), (1, 1, 0));
}
