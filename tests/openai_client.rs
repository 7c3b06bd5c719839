//! A real OpenAI client library (`async-openai`) talking to the proxy.

mod common;

use async_openai::config::OpenAIConfig;
use async_openai::types::{
    ChatCompletionRequestSystemMessageArgs, ChatCompletionRequestUserMessageArgs,
    CreateChatCompletionRequestArgs, CreateCompletionRequestArgs,
};
use async_openai::Client;
use common::upstream::openai_like;
use common::{free_port, one_workflow, FakeUpstream, Proxy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_openai_chat_and_completions_through_the_proxy() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let proxy = Proxy::start(
        &one_workflow("sdk", &upstream.url, port, "sk-upstream"),
        &[],
    );
    let config = OpenAIConfig::new()
        .with_api_base(format!("{}/v1", Proxy::url(port)))
        .with_api_key("sk-client");
    let client = Client::with_config(config);

    let request = CreateChatCompletionRequestArgs::default()
        .model("fake-model")
        .messages([
            ChatCompletionRequestSystemMessageArgs::default()
                .content("You are terse.")
                .build()
                .expect("system")
                .into(),
            ChatCompletionRequestUserMessageArgs::default()
                .content("Say hello")
                .build()
                .expect("user")
                .into(),
        ])
        .build()
        .expect("request");
    let response = client
        .chat()
        .create(request)
        .await
        .expect("chat through the proxy");
    assert_eq!(
        response.choices[0].message.content.as_deref(),
        Some("Hello from upstream")
    );

    let request = CreateCompletionRequestArgs::default()
        .model("fake-model")
        .prompt("Once upon a time")
        .build()
        .expect("request");
    let response = client
        .completions()
        .create(request)
        .await
        .expect("completion through the proxy");
    assert_eq!(response.choices[0].text, " a completion");

    let models = client.models().list().await.expect("models pass through");
    assert_eq!(models.data[0].id, "fake-model");

    let records = proxy.wait_records("sdk", 2);
    let chat = records
        .iter()
        .find(|r| r["endpoint"] == "/v1/chat/completions")
        .expect("chat record");
    assert_eq!(chat["messages"][1]["content"], "Say hello");
    assert_eq!(chat["messages"][2]["content"], "Hello from upstream");
    let completion = records
        .iter()
        .find(|r| r["endpoint"] == "/v1/completions")
        .expect("completion record");
    assert_eq!(completion["messages"][0]["content"], "Once upon a time");
    assert_eq!(completion["finish_reason"], "length");
    assert_eq!(
        upstream.seen()[0].headers["authorization"],
        "Bearer sk-upstream"
    );
}
