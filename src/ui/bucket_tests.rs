//! The bucket source over a `file://` bucket: objects of two instances, choices counted per
//! object, labels from `_labels/` merged with the local day's, one record by object and line.

use super::*;
use crate::ui::jobs::Progress;
use crate::ui::query::{find, list, Filter};

fn line(n: u32, id: &str) -> String {
    let line = serde_json::json!({"messages": [
        {"role": "user", "content": format!("q{n}")},
        {"role": "assistant", "content": format!("answer {n}")}],
        "timestamp": format!("2025-08-24T10:00:{n:02}Z"), "endpoint": "/v1/chat/completions",
        "model": "m", "workflow_id": "w", "request_id": id,
        "usage": {"prompt_tokens": 2, "completion_tokens": 1}});
    format!("{line}\n")
}

#[test]
fn objects_instances_labels_and_one_record() {
    let root = tempfile::tempdir().unwrap();
    let day = root.path().join("workflow=w/date=2025-08-24");
    std::fs::create_dir_all(&day).unwrap();
    let write = |name: &str, text: String| std::fs::write(day.join(name), text).unwrap();
    // Two choices of r1 in one object; r1 again in the next object: choice 0 there.
    write(
        "a-20250824T100000Z-000001.jsonl",
        line(1, "r1") + &line(2, "r1"),
    );
    write("a-20250824T100500Z-000002.jsonl", line(3, "r1"));
    write("b-20250824T100000Z-000001.jsonl", line(4, "r4"));
    let labels = root.path().join("_labels/workflow=w/date=2025-08-24");
    std::fs::create_dir_all(&labels).unwrap();
    std::fs::write(
        labels.join("a-20250824T110000Z-000001.jsonl"),
        "{\"timestamp\":\"2025-08-24T11:00:00.000Z\",\"request_id\":\"r4\",\"label\":\"bad\",\"source\":\"api\"}\n",
    )
    .unwrap();
    let local = tempfile::tempdir().unwrap();
    let local_day = crate::layout::day_dir(local.path(), "w", "2025-08-24".parse().unwrap());
    std::fs::create_dir_all(&local_day).unwrap();
    std::fs::write(
        crate::layout::labels_file_in(&local_day),
        "{\"timestamp\":\"2025-08-24T12:00:00.000Z\",\"request_id\":\"r1\",\"choice\":1,\"label\":\"good\",\"source\":\"ui\"}\n",
    )
    .unwrap();
    let view = BucketView::new(format!("file://{}", root.path().display()));
    let (bucket, labels) = view.open().unwrap();
    let labels = labels.expect("a labels root");
    let (cache, progress, dirs) = (
        SummaryCache::default(),
        Progress::default(),
        vec![local.path().to_path_buf()],
    );
    let source = BucketRead {
        bucket,
        labels: &*labels,
        local: &dirs,
        cache: &cache,
        progress: &progress,
        label_days: Default::default(),
    };
    let since = Some("2025-08-01".parse().unwrap());
    let overview = crate::ui::overview_data::build(&source, since, None).unwrap();
    let w = &overview.workflows["w"];
    assert_eq!((w.total.records, w.per_day.len()), (4, 1));
    // r1 is counted once per object: 2 + 2 (+ 2 for r4).
    assert_eq!(w.total.prompt_tokens, 6);
    assert_eq!(
        (w.good, w.bad),
        (1, 1),
        "local and bucket labels, once per day"
    );
    assert_eq!(Progress::get(&progress.objects_done), 3);
    let page = list(&source, &Filter::default()).unwrap();
    assert_eq!(page.rows.len(), 4);
    let good = list(
        &source,
        &Filter {
            label: "good".into(),
            ..Filter::default()
        },
    )
    .unwrap();
    assert_eq!(good.rows.len(), 1);
    let place = good.rows[0].place.clone();
    assert_eq!(
        place.object.as_deref(),
        Some("a-20250824T100000Z-000001.jsonl")
    );
    assert_eq!(place.line, 2);
    let found = find(&source, &place).unwrap().unwrap();
    assert_eq!(
        (found.choice, found.label.unwrap().label.as_str()),
        (1, "good")
    );
    let later = crate::ui::query::Place {
        object: Some("a-20250824T100500Z-000002.jsonl".into()),
        line: 1,
        ..place.clone()
    };
    assert_eq!(find(&source, &later).unwrap().unwrap().choice, 0);
    let nowhere = crate::ui::query::Place {
        object: Some("missing.jsonl".into()),
        ..place
    };
    assert!(find(&source, &nowhere).unwrap().is_none());
}
