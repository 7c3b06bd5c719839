//! Stable, bounded versions of the three cargo-fuzz properties (`fuzz/`, `docs/fuzzing.md`):
//! the same `micromodel::fuzzing` checks, fed by proptest with inputs shaped like real
//! streams, configs and requests (plus raw bytes), a few hundred cases each.

use micromodel::fuzzing::{self, FUZZ_SECRET};
use micromodel::record::EndpointKind;
use proptest::prelude::*;
use serde_json::{json, Value};

/// Cases per property: enough to catch a regression, few enough to keep the suite fast.
/// `PROPTEST_CASES` overrides it (longer runs on stable).
const CASES: u32 = 300;

fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = CASES;
    }
    config
}

fn endpoint() -> impl Strategy<Value = EndpointKind> {
    prop_oneof![Just(EndpointKind::Chat), Just(EndpointKind::Completions)]
}

/// Short text with the characters that matter: quotes, escapes, line breaks, multi-byte UTF-8.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("a".to_owned()),
            Just("\"".to_owned()),
            Just("\\".to_owned()),
            Just("\n".to_owned()),
            Just("\r".to_owned()),
            Just("é".to_owned()),
            Just("😀".to_owned()),
            Just("data: ".to_owned()),
            Just("[DONE]".to_owned()),
            "[ -~]{0,3}",
        ],
        0..4,
    )
    .prop_map(|parts| parts.concat())
}

fn opt<T: std::fmt::Debug + Clone>(
    inner: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    prop::option::weighted(0.6, inner)
}

/// Any small JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One streamed chunk's JSON, as OpenAI-compatible servers send them.
fn chunk_json() -> impl Strategy<Value = Value> {
    let tool = (opt(0u32..3), opt(text()), opt(text()), opt(text())).prop_map(
        |(index, id, name, arguments)| {
            json!({"index": index, "id": id, "type": "function",
                   "function": {"name": name, "arguments": arguments}})
        },
    );
    let choice = (
        opt(0u32..3),
        opt(text()),
        opt(text()),
        opt(text()),
        opt(prop::collection::vec(tool, 0..3)),
        opt(prop_oneof![
            Just("stop"),
            Just("length"),
            Just("tool_calls")
        ]),
    )
        .prop_map(|(index, content, reasoning, text, tools, finish)| {
            json!({"index": index, "text": text, "finish_reason": finish,
                   "delta": {"role": "assistant", "content": content,
                             "reasoning_content": reasoning, "tool_calls": tools}})
        });
    (
        opt(text()),
        prop::collection::vec(choice, 0..3),
        opt(any_json()),
    )
        .prop_map(|(id, choices, usage)| json!({"id": id, "choices": choices, "usage": usage}))
}

/// A stream: events, comments and noise, with every kind of line terminator.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    let eol = prop_oneof![Just("\n"), Just("\r\n"), Just("\r")];
    let piece = prop_oneof![
        4 => (chunk_json(), eol.clone()).prop_map(|(c, e)| format!("data: {c}{e}{e}").into_bytes()),
        1 => eol.clone().prop_map(|e| format!(": keep-alive{e}").into_bytes()),
        1 => eol.clone().prop_map(|e| format!("data: [DONE]{e}{e}").into_bytes()),
        1 => (any_json(), eol.clone())
            .prop_map(|(v, e)| format!("event: error{e}data: {v}{e}{e}").into_bytes()),
        1 => (text(), eol).prop_map(|(t, e)| format!("data:{t}{e}").into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..8),
    ];
    (any::<bool>(), prop::collection::vec(piece, 0..8)).prop_map(|(bom, pieces)| {
        let mut out = if bom {
            "\u{feff}".as_bytes().to_vec()
        } else {
            Vec::new()
        };
        out.extend(pieces.concat());
        out
    })
}

/// One workflow's settings: right and wrong values for the known fields, and typos.
fn settings() -> impl Strategy<Value = Value> {
    let host = prop_oneof![
        Just(json!("http://localhost:11434")),
        Just(json!("https://api.example.com/v1/")),
        Just(json!("http://user:pw@host")),
        Just(json!("ftp://x")),
        text().prop_map(Value::from),
        any_json(),
    ];
    let port = prop_oneof![(0u32..70000).prop_map(Value::from), any_json()];
    let key = prop_oneof![
        Just(json!("env:OPENAI_KEY")),
        Just(json!("env:UNSET_KEY")),
        Just(json!("env:")),
        Just(json!("sk-literal")),
        any_json(),
    ];
    let bind = prop_oneof![Just(json!("0.0.0.0")), Just(json!("::1")), any_json()];
    let timeout = prop_oneof![(0u64..2_000_000).prop_map(Value::from), any_json()];
    (
        opt(host),
        opt(port),
        opt(key),
        opt(bind),
        opt(timeout),
        opt(prop_oneof![Just("PORTT"), Just("api_key"), Just("X")]),
    )
        .prop_map(|(host, port, key, bind, timeout, typo)| {
            let mut map = serde_json::Map::new();
            let fields = [
                ("OPENAI_API_HOST", host),
                ("PORT", port),
                ("API_KEY", key),
                ("HOST", bind),
                ("TIMEOUT_SECONDS", timeout),
            ];
            for (name, value) in fields {
                if let Some(value) = value {
                    map.insert(name.to_owned(), value);
                }
            }
            if let Some(typo) = typo {
                map.insert(typo.to_owned(), json!(1));
            }
            Value::Object(map)
        })
}

/// A config file: mostly well-shaped JSON, sometimes cut short or with a stray byte.
fn config_bytes() -> impl Strategy<Value = Vec<u8>> {
    let id = prop_oneof![
        "[a-z0-9_.-]{1,8}",
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just(String::new()),
        text(),
    ];
    let file = prop::collection::vec((id, prop_oneof![4 => settings(), 1 => any_json()]), 0..4)
        .prop_map(|entries| {
            // Written by hand so that repeated ids stay repeated.
            let members: Vec<String> = entries
                .iter()
                .map(|(id, s)| format!("{}:{s}", Value::from(id.as_str())))
                .collect();
            format!("{{{}}}", members.join(",")).into_bytes()
        });
    (file, any::<u16>(), opt(any::<u8>())).prop_map(|(mut bytes, at, stray)| {
        if let Some(byte) = stray {
            let at = usize::from(at) % (bytes.len() + 1);
            bytes.insert(at, byte);
        }
        bytes
    })
}

/// A recorded request's body.
fn request_body() -> impl Strategy<Value = Vec<u8>> {
    let message = (
        prop_oneof![Just("user"), Just("system"), Just("assistant")],
        any_json(),
    )
        .prop_map(|(role, content)| json!({"role": role, "content": content}));
    let prompt = prop_oneof![
        text().prop_map(Value::from),
        prop::collection::vec(text(), 0..3).prop_map(Value::from),
        prop::collection::vec(any::<u16>(), 0..3).prop_map(Value::from),
        any_json(),
    ];
    let messages = prop_oneof![
        4 => prop::collection::vec(message, 0..3).prop_map(Value::from),
        1 => any_json(),
    ];
    (
        opt(messages),
        opt(prompt),
        opt(any_json()),
        opt(prop_oneof![(0u32..4).prop_map(Value::from), any_json()]),
        opt(any::<bool>()),
        opt(prop_oneof![text().prop_map(Value::from), any_json()]),
        any::<bool>(),
    )
        .prop_map(
            |(messages, prompt, tools, n, stream, workflow_id, pretty)| {
                let body = json!({"model": "m", "messages": messages, "prompt": prompt,
                              "tools": tools, "n": n, "stream": stream,
                              "workflow_id": workflow_id});
                if pretty {
                    serde_json::to_vec_pretty(&body).expect("serialises")
                } else {
                    serde_json::to_vec(&body).expect("serialises")
                }
            },
        )
}

/// A non-streamed answer body (pretty-printed or not, with extra message fields).
fn answer_body() -> impl Strategy<Value = Vec<u8>> {
    let message = (opt(text()), opt(any_json()), opt(text()), opt(any_json())).prop_map(
        |(content, tool_calls, refusal, extra)| {
            json!({"role": "assistant", "content": content, "tool_calls": tool_calls,
                   "refusal": refusal, "annotations": extra})
        },
    );
    let choice = (opt(0u32..5), opt(message), opt(text()), opt(text())).prop_map(
        |(index, message, text, finish)| {
            json!({"index": index, "message": message, "text": text, "finish_reason": finish})
        },
    );
    (
        opt(text()),
        prop::collection::vec(choice, 0..4),
        opt(any_json()),
        any::<bool>(),
    )
        .prop_map(|(id, choices, usage, pretty)| {
            let body = json!({"id": id, "choices": choices, "usage": usage});
            if pretty {
                serde_json::to_vec_pretty(&body).expect("serialises")
            } else {
                serde_json::to_vec(&body).expect("serialises")
            }
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn stream_split_anywhere_gives_the_unsplit_answer(
        kind in endpoint(),
        stream in stream(),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        fuzzing::check_stream_split(kind, &stream, &cuts);
    }

    #[test]
    fn stream_target_takes_any_bytes(data in prop::collection::vec(any::<u8>(), 0..256)) {
        fuzzing::fuzz_stream(&data);
    }

    #[test]
    fn config_validation_never_panics_and_collects_errors(bytes in config_bytes()) {
        fuzzing::check_config(&bytes);
    }

    #[test]
    fn config_target_takes_any_bytes(data in prop::collection::vec(any::<u8>(), 0..256)) {
        fuzzing::fuzz_config(&data);
    }

    #[test]
    fn record_lines_are_one_line_json(
        kind in endpoint(),
        request in request_body(),
        answer in prop_oneof![answer_body(), stream()],
    ) {
        fuzzing::check_record(kind, &request, &answer);
    }

    #[test]
    fn record_target_takes_any_bytes(data in prop::collection::vec(any::<u8>(), 0..256)) {
        fuzzing::fuzz_record(&data);
    }
}

/// The planted key really is resolved (so the "never shown" check is not vacuous), and a
/// config that loads keeps it out of its `Debug`.
#[test]
fn planted_key_is_resolved_and_hidden() {
    let text = r#"{"a":{"OPENAI_API_HOST":"http://h","PORT":1,"API_KEY":"env:K"}}"#;
    let config = micromodel::config::parse(text, Default::default(), &fuzzing::fuzz_env)
        .expect("valid config");
    let key = config.workflows["a"].api_key.as_ref().expect("a key");
    assert_eq!(key.expose(), FUZZ_SECRET);
    assert!(!format!("{config:?}").contains(FUZZ_SECRET));
    fuzzing::check_config(text.as_bytes());
}

/// A fuzz target's entry point.
type Target = fn(&[u8]);

/// Every seed of `fuzz/seeds/` passes its target's property (and the seeds stay valid inputs).
#[test]
fn fuzz_seeds_pass() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let targets: [(&str, Target); 3] = [
        ("sse_stream", fuzzing::fuzz_stream),
        ("config", fuzzing::fuzz_config),
        ("record", fuzzing::fuzz_record),
    ];
    for (target, run) in targets {
        let dir = root.join(target);
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("seed folder exists") {
            let path = entry.expect("seed entry").path();
            run(&std::fs::read(&path).expect("seed readable"));
            seen += 1;
        }
        assert!(seen > 0, "no seeds in {}", dir.display());
    }
}
