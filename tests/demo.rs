//! `micromodel demo`, the real binary: the built-in upstream's answers through the proxy,
//! the records, the printed curl line and Python snippet, the config file, reload.

mod common;
mod demo_support;

use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use common::{check, client, eventually_async, free_port, read_records};
use demo_support::{after, chunks, post, run, Demo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_answers_chat_and_completions_whole_and_streamed_and_records_each() {
    let demo = Demo::start(&[]);
    assert!(demo.record_file.starts_with(&demo.data_dir));
    let chat = json!({"model": "my-model", "messages": [{"role": "user", "content": "Hi"}]});

    let (status, body) = post(&demo.base, "/v1/chat/completions", &chat).await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["model"], "my-model");
    assert!(answer["id"].as_str().expect("id").starts_with("chatcmpl-"));
    assert_eq!(answer["choices"][0]["message"]["role"], "assistant");
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    let content = answer["choices"][0]["message"]["content"]
        .as_str()
        .expect("content")
        .to_owned();
    assert!(content.contains("\"Hi\""), "{content}");
    let usage = &answer["usage"];
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(
            usage["prompt_tokens"].as_u64().expect("p")
                + usage["completion_tokens"].as_u64().expect("c")
        )
    );
    demo.wait_records(1);

    // Same request, same content (a new id).
    let (_, again) = post(&demo.base, "/v1/chat/completions", &chat).await;
    let again: Value = serde_json::from_str(&again).expect("JSON");
    assert_eq!(again["choices"][0]["message"]["content"], content.as_str());
    assert_ne!(again["id"], answer["id"]);
    demo.wait_records(2);

    // Streamed: the same content in chunks, usage in a last chunk.
    let mut streamed = chat.clone();
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let (status, sse) = post(&demo.base, "/v1/chat/completions", &streamed).await;
    assert_eq!(status, 200);
    let parts = chunks(&sse);
    assert!(parts
        .iter()
        .all(|c| c["object"] == "chat.completion.chunk" && c["model"] == "my-model"));
    let joined: String = parts
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(joined, content);
    assert_eq!(parts.last().expect("usage chunk")["usage"], *usage);
    let records = demo.wait_records(3);
    assert_eq!(records[2]["stream"], true);
    assert_eq!(records[2]["messages"][1]["content"], content.as_str());
    assert_eq!(records[2]["usage"], *usage);

    // Completions, whole and streamed.
    let prompt = json!({"model": "my-model", "prompt": "Once upon a time"});
    let (status, body) = post(&demo.base, "/v1/completions", &prompt).await;
    assert_eq!(status, 200, "{body}");
    let completion: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(completion["object"], "text_completion");
    let text = completion["choices"][0]["text"]
        .as_str()
        .expect("text")
        .to_owned();
    let mut streamed = prompt.clone();
    streamed["stream"] = json!(true);
    let (_, sse) = post(&demo.base, "/v1/completions", &streamed).await;
    let joined: String = chunks(&sse)
        .iter()
        .filter_map(|c| c["choices"][0]["text"].as_str())
        .collect();
    assert_eq!(joined, text);
    let records = demo.wait_records(5);
    for record in &records[3..] {
        assert_eq!(record["endpoint"], "/v1/completions");
        assert_eq!(record["messages"][0]["content"], "Once upon a time");
        assert_eq!(record["messages"][1]["content"], text.as_str());
    }

    let validate = run(&[
        "validate",
        "--data-dir",
        demo.data_dir.to_str().expect("utf-8"),
    ]);
    assert!(validate.status.success(), "{validate:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_calls_the_first_tool_whole_and_streamed() {
    let demo = Demo::start(&[]);
    let tools = json!([{"type": "function", "function": {"name": "get_weather",
        "parameters": {"type": "object", "required": ["city"],
                       "properties": {"city": {"type": "string"}}}}}]);
    let request = json!({"model": "m", "tools": tools,
                         "messages": [{"role": "user", "content": "Weather in Paris?"}]});
    let (status, body) = post(&demo.base, "/v1/chat/completions", &request).await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    let choice = &answer["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], Value::Null);
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_weather");
    let arguments: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().expect("text")).expect("JSON");
    assert_eq!(arguments, json!({"city": "demo"}));

    let mut streamed = request.clone();
    streamed["stream"] = json!(true);
    let (_, sse) = post(&demo.base, "/v1/chat/completions", &streamed).await;
    assert_eq!(
        chunks(&sse).last().expect("chunk")["choices"][0]["finish_reason"],
        "tool_calls"
    );
    let records = demo.wait_records(2);
    for record in &records {
        assert_eq!(record["tools"], tools);
        assert_eq!(record["finish_reason"], "tool_calls");
        let call = &record["messages"][1]["tool_calls"][0];
        assert_eq!(call["function"]["name"], "get_weather");
        assert_eq!(call["function"]["arguments"], r#"{"city":"demo"}"#);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_in_upstream_errors_and_models_pass_through() {
    let demo = Demo::start(&[]);
    let (status, body) = post(&demo.base, "/v1/chat/completions", &json!({"model": "m"})).await;
    assert_eq!(status, 400);
    let error: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(error["error"]["param"], "messages");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    let (status, _) = post(&demo.base, "/v1/completions", &json!({"prompt": [1, 2]})).await;
    assert_eq!(status, 400);
    let (status, body) = post(&demo.base, "/v1/embeddings", &json!({"input": "x"})).await;
    assert_eq!(status, 404);
    assert!(
        body.contains("does not serve POST /v1/embeddings"),
        "{body}"
    );
    let models: Value = client()
        .get(format!("{}/v1/models", demo.base))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("JSON");
    assert_eq!(models["data"][0]["id"], "demo");
    // Nothing of that is a record.
    let ok = json!({"messages": [{"role": "user", "content": "x"}]});
    assert_eq!(post(&demo.base, "/v1/chat/completions", &ok).await.0, 200);
    assert_eq!(demo.wait_records(1)[0]["messages"][0]["content"], "x");
}

#[test]
fn the_printed_curl_line_leaves_a_record() {
    let demo = Demo::start(&[]);
    let curl = demo.line("curl ");
    let output = Command::new("sh")
        .arg("-c")
        .arg(&curl)
        .output()
        .expect("sh");
    assert!(output.status.success(), "{curl}: {output:?}");
    let answer: Value = serde_json::from_slice(&output.stdout).expect("an answer");
    assert_eq!(answer["object"], "chat.completion");
    let records = demo.wait_records(1);
    assert_eq!(records[0]["workflow_id"], "demo");
    assert_eq!(records[0]["messages"][0]["content"], "Hello, MicroModel!");
    // The data tools the banner shows read that folder.
    let stats = demo.line(&format!("{} stats", env!("CARGO_BIN_EXE_micromodel")));
    let output = Command::new("sh")
        .arg("-c")
        .arg(&stats)
        .output()
        .expect("sh");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("total: 1 records"),
        "{output:?}"
    );
}

/// Needs `python3` with the `openai` package (`pip install openai`), so it is not run by
/// default: `cargo test --test demo -- --ignored`.
#[test]
#[ignore = "needs python3 with the openai package"]
fn the_printed_python_snippet_prints_the_answer() {
    let demo = Demo::start(&[]);
    let snippet = demo.block("Or with Python");
    assert!(snippet.starts_with("python3 - <<'EOF'\n"), "{snippet}");
    let output = Command::new("sh")
        .arg("-c")
        .arg(&snippet)
        .output()
        .expect("sh");
    assert!(output.status.success(), "{snippet}\n{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("You said: \"Hello, MicroModel!\""));
    demo.wait_records(1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_openai_against_the_demo() {
    use async_openai::types::{
        ChatCompletionRequestUserMessageArgs, ChatCompletionToolArgs, ChatCompletionToolType,
        CreateChatCompletionRequestArgs, CreateCompletionRequestArgs, FunctionObjectArgs,
    };
    use futures_util::StreamExt;

    let demo = Demo::start(&[]);
    let config = async_openai::config::OpenAIConfig::new()
        .with_api_base(format!("{}/v1", demo.base))
        .with_api_key("demo");
    let client = async_openai::Client::with_config(config);
    let user = ChatCompletionRequestUserMessageArgs::default()
        .content("Hello")
        .build()
        .expect("user");
    let request = CreateChatCompletionRequestArgs::default()
        .model("demo")
        .messages([user.clone().into()])
        .build()
        .expect("request");
    let answer = client.chat().create(request.clone()).await.expect("chat");
    let content = answer.choices[0].message.content.clone().expect("content");
    assert!(content.contains("\"Hello\""), "{content}");

    let mut stream = client.chat().create_stream(request).await.expect("stream");
    let mut joined = String::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("chunk");
        if let Some(piece) = chunk.choices.first().and_then(|c| c.delta.content.clone()) {
            joined.push_str(&piece);
        }
    }
    assert_eq!(joined, content);

    let tool = ChatCompletionToolArgs::default()
        .r#type(ChatCompletionToolType::Function)
        .function(
            FunctionObjectArgs::default()
                .name("lookup")
                .parameters(json!({"type": "object", "required": ["q"],
                                   "properties": {"q": {"type": "string"}}}))
                .build()
                .expect("function"),
        )
        .build()
        .expect("tool");
    let request = CreateChatCompletionRequestArgs::default()
        .model("demo")
        .messages([user.into()])
        .tools([tool])
        .build()
        .expect("request");
    let answer = client.chat().create(request).await.expect("tool call");
    let calls = answer.choices[0]
        .message
        .tool_calls
        .clone()
        .expect("tool calls");
    assert_eq!(calls[0].function.name, "lookup");
    assert_eq!(calls[0].function.arguments, r#"{"q":"demo"}"#);

    let request = CreateCompletionRequestArgs::default()
        .model("demo")
        .prompt("Once")
        .build()
        .expect("request");
    let completion = client
        .completions()
        .create(request)
        .await
        .expect("completion");
    assert!(completion.choices[0].text.contains("\"Once\""));
    let models = client.models().list().await.expect("models");
    assert_eq!(models.data[0].id, "demo");
    demo.wait_records(4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_config_is_reloaded_and_kept_across_restarts() {
    let port = free_port();
    let port_text = port.to_string();
    let mut demo = Demo::start(&["--port", &port_text]);
    assert_eq!(demo.base, format!("http://127.0.0.1:{port}"));
    let upstream = after(&demo.banner, "MicroModel demo is ready on ")
        .split("built-in upstream at ")
        .nth(1)
        .expect("upstream")
        .trim_end_matches(").")
        .to_owned();
    // Add a workflow to the file the demo watches: it starts, as with serve.
    let second = free_port();
    let mut config: Value =
        serde_json::from_slice(&std::fs::read(&demo.config).expect("read")).expect("JSON");
    config["second"] = json!({"OPENAI_API_HOST": upstream, "PORT": second});
    std::fs::write(&demo.config, config.to_string()).expect("write");
    let ok = json!({"messages": [{"role": "user", "content": "x"}]});
    let base = format!("http://127.0.0.1:{second}");
    let logs = || demo.logs();
    eventually_async(
        Duration::from_secs(15),
        "the second workflow to answer 200",
        || async {
            match client()
                .post(format!("{base}/v1/chat/completions"))
                .json(&ok)
                .send()
                .await
            {
                Ok(r) if r.status() == 200 => Ok(()),
                Ok(r) => Err(format!("status {}:\n{}", r.status(), logs())),
                Err(e) => Err(format!("{e}:\n{}", logs())),
            }
        },
    )
    .await;
    common::eventually(
        Duration::from_secs(10),
        "a record for the second workflow",
        || {
            check(
                !read_records(&demo.data_dir.join("second")).is_empty(),
                || "none".into(),
            )
        },
    );
    assert!(demo.stop().success());

    // A restart keeps the added workflow (pointed at by its old URL) and updates `demo`.
    let dir = std::mem::replace(&mut demo.dir, tempfile::tempdir().expect("tempdir"));
    drop(demo);
    let demo = Demo::start_in(dir, &[]);
    let config: Value =
        serde_json::from_slice(&std::fs::read(&demo.config).expect("read")).expect("JSON");
    assert_eq!(config["second"]["PORT"], second);
    assert_eq!(
        config["demo"]["PORT"].as_u64(),
        demo.base.rsplit(':').next().and_then(|p| p.parse().ok())
    );
}
