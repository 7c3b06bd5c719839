//! Turning a request and its upstream answer into record lines (§4).
//!
//! - `endpoint`: [`EndpointKind`], the recorded endpoints and their paths.
//! - [`answer`]: the normalised [`Answer`] both kinds of answers become.
//! - [`parse_answer`](mod@parse_answer): a non-streamed 2xx body → [`Answer`].
//! - [`request`]: one parse of a recorded request's body ([`request::RequestView`]).
//! - [`line`]: record lines from the request context and the answer.
//! - [`sse`]: an incremental Server-Sent Events parser.
//! - [`recordable`]: what the recorder refuses (or repairs) so that `validate` accepts
//!   every line it writes.
//! - [`stream`]: [`StreamCapture`], a streamed answer → [`Answer`], as it passes through.
//! - [`dialect`]: the Responses and Anthropic Messages mappings (request → ChatML messages,
//!   answer and stream → [`Answer`]).
//! - [`capture`]: the one dispatch from an endpoint to how its answer is read, used by the
//!   proxy for all four endpoints.

pub mod answer;
pub mod capture;
mod choice_acc;
mod chunk;
pub mod dialect;
mod endpoint;
pub mod line;
pub mod parse_answer;
pub mod recordable;
pub mod request;
mod request_members;
pub mod sse;
pub mod stream;

pub use answer::{Answer, AssistantMessage, Choice, FunctionCall, ReasoningKey, ToolCall};
pub use endpoint::{EndpointKind, KeyHeader};
pub use parse_answer::{parse_answer, parse_answer_limited, AnswerError};
pub use sse::{SseEvent, SseParser};
pub use stream::{CaptureLimits, Incomplete, StreamCapture};
