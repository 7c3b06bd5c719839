//! Parsing a non-streamed 2xx answer body into an [`Answer`] (§4).
//!
//! Only the fields a record needs are parsed; values that are copied as they are (`usage`, the
//! message's other fields) are kept as [`RawValue`] text. A chat message becomes an
//! [`AssistantMessage`] normalised exactly as [`StreamCapture`](super::stream::StreamCapture)
//! assembles a streamed one, so both give equal answers (except `extra`, which only a
//! non-streamed message can have).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::record::answer::{
    Answer, AssistantMessage, Choice, FunctionCall, ReasoningKey, ToolCall,
};
use crate::record::dialect::common::{
    error_message, normalise_message, position_index, LenientString,
};
use crate::record::endpoint::EndpointKind;

/// Why a 2xx body could not be turned into an [`Answer`].
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// Not JSON, or a field the record needs has the wrong type.
    #[error("answer body is not a valid completion: {0}")]
    Invalid(#[from] serde_json::Error),
    /// The body has no `choices` array (or it is null).
    #[error("answer body has no `choices`")]
    NoChoices,
    /// The body is an error object (`{"error": ...}`) despite the 2xx status.
    #[error("upstream answered with an error: {0}")]
    UpstreamError(String),
}

/// Parses a non-streamed 2xx JSON body of the given endpoint.
///
/// Choices are returned sorted by `index` (default: their position). See the
/// [module docs](self) for the normalisation.
pub fn parse_answer(kind: EndpointKind, body: &[u8]) -> Result<Answer, AnswerError> {
    parse_answer_limited(kind, body, u32::MAX).map(|(answer, _)| answer)
}

/// Like [`parse_answer`], keeping only the choices whose `index` is below `max_choices` (the
/// request's `n` × prompts); also returns how many choices were left out.
pub fn parse_answer_limited(
    kind: EndpointKind,
    body: &[u8],
    max_choices: u32,
) -> Result<(Answer, u64), AnswerError> {
    let raw: RawBody<'_> = serde_json::from_slice(body)?;
    if let Some(error) = raw.error {
        return Err(AnswerError::UpstreamError(error_message(error)));
    }
    let raw_choices = raw.choices.ok_or(AnswerError::NoChoices)?;
    let mut choices = Vec::with_capacity(raw_choices.len().min(max_choices as usize));
    let mut left_out = 0;
    for (position, choice) in raw_choices.into_iter().enumerate() {
        let index = choice.index.unwrap_or_else(|| position_index(position));
        if index >= max_choices {
            left_out += 1;
            continue;
        }
        let mut message = match kind {
            EndpointKind::Completions => AssistantMessage {
                content: Some(Value::String(choice.text.unwrap_or_default())),
                ..AssistantMessage::default()
            },
            // Chat; the other dialects are parsed by `dialect`, never here.
            _ => choice.message.map(|m| m.0).unwrap_or_default(),
        };
        normalise_message(&mut message);
        choices.push(Choice {
            index,
            message,
            finish_reason: choice.finish_reason,
        });
    }
    choices.sort_by_key(|c| c.index);
    let answer = Answer {
        id: raw.id.map(|id| id.0),
        choices,
        usage: raw.usage,
    };
    Ok((answer, left_out))
}

/// The top level of a body: only what a record needs.
#[derive(Deserialize)]
struct RawBody<'a> {
    #[serde(default)]
    id: Option<LenientString>,
    #[serde(default)]
    choices: Option<Vec<RawChoice>>,
    #[serde(default)]
    usage: Option<Box<RawValue>>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

/// One choice of a body.
#[derive(Deserialize)]
struct RawChoice {
    #[serde(default)]
    index: Option<u32>,
    /// Chat.
    #[serde(default)]
    message: Option<MessageDe>,
    /// Completions.
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    finish_reason: Option<String>,
}

/// A chat `message`, deserialised into an [`AssistantMessage`] with a map visitor that keeps
/// the order of the fields that go to `extra`.
struct MessageDe(AssistantMessage);

impl<'de> Deserialize<'de> for MessageDe {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MessageVisitor).map(MessageDe)
    }
}

struct MessageVisitor;

impl<'de> Visitor<'de> for MessageVisitor {
    type Value = AssistantMessage;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a chat message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AssistantMessage, A::Error> {
        let mut message = AssistantMessage::default();
        while let Some(key) = map.next_key::<String>()? {
            let value: &'de RawValue = map.next_value()?;
            if value.get() == "null" {
                continue;
            }
            match key.as_str() {
                "role" => message.role = from_raw(value)?,
                "content" => message.content = Some(from_raw(value)?),
                "tool_calls" => {
                    let calls: Vec<RawToolCall> = from_raw(value)?;
                    message.tool_calls = calls.into_iter().map(RawToolCall::normalise).collect();
                }
                "refusal" => message.refusal = Some(from_raw(value)?),
                "reasoning_content" | "reasoning" => {
                    let key_kind = if key == "reasoning" {
                        ReasoningKey::Reasoning
                    } else {
                        ReasoningKey::ReasoningContent
                    };
                    let text: String = from_raw(value)?;
                    match &message.reasoning {
                        // The first reasoning field wins; a second one with the same text
                        // (servers that send both names) is dropped, a different one is kept.
                        None => message.reasoning = Some((key_kind, text)),
                        Some((_, first)) if *first == text => {}
                        Some(_) => message.extra.push((key, value.to_owned())),
                    }
                }
                _ => message.extra.push((key, value.to_owned())),
            }
        }
        Ok(message)
    }
}

/// Parses a borrowed raw value, mapping the error into the outer deserializer's.
fn from_raw<'de, T: Deserialize<'de>, E: de::Error>(value: &'de RawValue) -> Result<T, E> {
    serde_json::from_str(value.get()).map_err(E::custom)
}

/// One tool call of a non-streamed message, before normalisation.
#[derive(Deserialize)]
struct RawToolCall {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    function: Option<RawFunction>,
}

#[derive(Deserialize)]
struct RawFunction {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<Box<RawValue>>,
}

impl RawToolCall {
    fn normalise(self) -> ToolCall {
        let (name, arguments) = match self.function {
            Some(f) => (
                f.name.unwrap_or_default(),
                f.arguments.as_deref().map(arguments_text),
            ),
            None => (String::new(), None),
        };
        ToolCall {
            id: self.id.unwrap_or_default(),
            kind: self.kind.unwrap_or_else(|| "function".to_owned()),
            function: FunctionCall {
                name,
                arguments: arguments.unwrap_or_default(),
            },
        }
    }
}

/// `arguments` as a string: a JSON string as its text, any other value as its JSON text.
fn arguments_text(raw: &RawValue) -> String {
    match serde_json::from_str::<String>(raw.get()) {
        Ok(s) => s,
        Err(_) => raw.get().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(body: &str) -> Answer {
        parse_answer(EndpointKind::Chat, body.as_bytes()).expect("parses")
    }

    #[test]
    fn plain_chat() {
        let a = chat(
            r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m",
            "choices":[{"index":0,"message":{"role":"assistant","content":"Hi","refusal":null,
            "annotations":[]},"logprobs":null,"finish_reason":"stop"}],
            "usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#,
        );
        assert_eq!(a.id.as_deref(), Some("chatcmpl-1"));
        assert_eq!(
            a.usage.as_ref().map(|u| u.get()),
            Some(r#"{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}"#)
        );
        let c = &a.choices[0];
        assert_eq!(c.finish_reason.as_deref(), Some("stop"));
        assert_eq!(c.message.content, Some(Value::String("Hi".into())));
        assert_eq!(
            serde_json::to_string(&c.message).expect("serialises"),
            r#"{"role":"assistant","content":"Hi","annotations":[]}"#
        );
    }

    #[test]
    fn tool_calls_normalised_and_extra_in_order() {
        let a = chat(
            r#"{"choices":[{"message":{"content":"","zeta":1,"tool_calls":[
              {"index":0,"id":"c1","function":{"name":"f","arguments":{"x":1}}},
              {"id":"c2","type":"function","function":{"name":"g","arguments":"{}"}}],
              "function_call":{"name":"old"},"alpha":null,"reasoning":"think","beta":[2]},
              "finish_reason":"tool_calls"}]}"#,
        );
        let m = &a.choices[0].message;
        assert_eq!(
            serde_json::to_string(m).expect("serialises"),
            r#"{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}},{"id":"c2","type":"function","function":{"name":"g","arguments":"{}"}}],"reasoning":"think","zeta":1,"function_call":{"name":"old"},"beta":[2]}"#
        );
        assert!(a.id.is_none() && a.usage.is_none());
    }

    #[test]
    fn choices_sorted_by_index_and_defaults() {
        let a = chat(
            r#"{"choices":[{"index":1,"message":{"content":"b"},"finish_reason":null},
                           {"index":0,"message":{"content":[{"type":"text","text":"a"}]}}],
                "usage":null}"#,
        );
        assert_eq!(a.choices[0].index, 0);
        assert_eq!(a.choices[1].index, 1);
        assert_eq!(a.choices[1].finish_reason, None);
        assert_eq!(
            a.choices[0].message.content,
            Some(serde_json::json!([{"type":"text","text":"a"}]))
        );
        assert!(a.usage.is_none());
    }

    #[test]
    fn completions_text() {
        let a = parse_answer(
            EndpointKind::Completions,
            br#"{"id":"cmpl-1","object":"text_completion","choices":[
                {"text":" world","index":0,"logprobs":null,"finish_reason":"length"}]}"#,
        )
        .expect("parses");
        assert_eq!(a.choices[0].message.role, "assistant");
        assert_eq!(
            a.choices[0].message.content,
            Some(Value::String(" world".into()))
        );
    }

    #[test]
    fn errors() {
        assert!(matches!(
            parse_answer(EndpointKind::Chat, b"not json"),
            Err(AnswerError::Invalid(_))
        ));
        assert!(matches!(
            parse_answer(EndpointKind::Chat, b"{}"),
            Err(AnswerError::NoChoices)
        ));
        match parse_answer(EndpointKind::Chat, br#"{"error":{"message":"boom"}}"#) {
            Err(AnswerError::UpstreamError(m)) => assert_eq!(m, "boom"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            parse_answer(
                EndpointKind::Chat,
                br#"{"choices":[{"message":{"role":3}}]}"#
            ),
            Err(AnswerError::Invalid(_))
        ));
    }

    #[test]
    fn choices_at_or_above_the_limit_are_left_out() {
        let body = br#"{"choices":[{"index":0,"message":{"content":"a"}},{"index":5,"message":{}},
            {"message":{}},{"message":{}}]}"#;
        let (answer, left_out) = parse_answer_limited(EndpointKind::Chat, body, 3).expect("parses");
        let indexes: Vec<u32> = answer.choices.iter().map(|c| c.index).collect();
        assert_eq!(indexes, vec![0, 2]);
        assert_eq!(left_out, 2);
    }

    #[test]
    fn both_reasoning_names() {
        let a = chat(
            r#"{"choices":[{"message":{"content":"x","reasoning_content":"r","reasoning":"r"},
               "finish_reason":"stop"}]}"#,
        );
        let m = &a.choices[0].message;
        assert_eq!(
            m.reasoning,
            Some((ReasoningKey::ReasoningContent, "r".to_owned()))
        );
        assert!(m.extra.is_empty());
    }
}
