//! Turning a request and its upstream answer into record lines (§4).
//!
//! - `endpoint`: [`EndpointKind`], the recorded endpoints and their paths.
//! - [`answer`]: the normalised [`Answer`] every dialect's answer becomes.
//! - [`dialect`]: one module per recorded dialect (chat, completions, Responses, Anthropic
//!   Messages) behind [`dialect::Dialect`]: what to keep of the request, how to parse a
//!   non-streamed answer and assemble a stream ([`StreamCapture`] for chat and completions).
//! - [`capture`]: the capture the proxy uses for all four endpoints, dispatched by `Dialect`.
//! - [`request`]: one parse of a recorded request's body ([`request::RequestView`]).
//! - [`line`]: record lines from the request context and the answer.
//! - [`sse`]: an incremental Server-Sent Events parser.
//! - [`stream`]: what every stream capture shares ([`CaptureLimits`], [`Incomplete`]).
//! - [`recordable`]: what the recorder refuses (or repairs) so that `validate` accepts
//!   every line it writes.

pub mod answer;
pub mod capture;
pub mod dialect;
mod endpoint;
pub mod line;
pub mod recordable;
pub mod request;
mod request_members;
pub mod sse;
pub mod stream;

pub use answer::{Answer, AssistantMessage, Choice, FunctionCall, ReasoningKey, ToolCall};
pub use dialect::chat::answer::{parse_answer, parse_answer_limited, AnswerError};
pub use dialect::chat::stream::StreamCapture;
pub use endpoint::{EndpointKind, KeyHeader};
pub use sse::{SseEvent, SseParser};
pub use stream::{CaptureLimits, Incomplete};
