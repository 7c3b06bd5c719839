//! The admin token's check: one middleware over the whole admin router, so every route
//! (`/metrics`, `/ui/*`, `/api/*`, and any added later) is covered; only `/healthz`,
//! `/readyz` and the login form are open.
//!
//! Accepted credentials: `Authorization: Bearer <token>` (programs), HTTP Basic with the
//! token as the password (any user name), or the session cookie set by the login form
//! (`HttpOnly`, `SameSite=Strict`). A browser sends Basic and cookie credentials by itself,
//! so a state-changing request (any method but GET/HEAD/OPTIONS) authenticated that way also
//! needs the CSRF token the pages embed: header `x-csrf-token`, or form field `csrf`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;

use super::token::{random_hex, same, AdminToken};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "micromodel_session";
/// Header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// How long a login lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at most (the oldest goes first).
const MAX_SESSIONS: usize = 256;
/// Largest form body read to find the CSRF field.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// Paths reachable without the token.
fn is_open(method: &Method, path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz")
        || (path == "/ui/login" && (method == Method::GET || method == Method::POST))
}

/// The admin token and the logins made with it.
pub struct Auth {
    token: AdminToken,
    sessions: Mutex<HashMap<String, Session>>,
    /// The CSRF token of pages authenticated by HTTP Basic (one per process).
    basic_csrf: String,
}

struct Session {
    csrf: String,
    expires: Instant,
}

/// The CSRF token that the pages of this request embed (empty when no token is set).
#[derive(Debug, Clone, Default)]
pub struct Csrf(pub String);

/// How the request proved it knows the token.
enum Identity {
    Bearer,
    Basic,
    Cookie(String),
}

impl Auth {
    /// Checks for `token`.
    pub fn new(token: AdminToken) -> Auth {
        Auth {
            token,
            sessions: Mutex::new(HashMap::new()),
            basic_csrf: random_hex(),
        }
    }

    /// Whether `candidate` is the token (constant time).
    pub fn matches(&self, candidate: &str) -> bool {
        self.token.matches(candidate.as_bytes())
    }

    /// Starts a session: its id (the cookie's value).
    pub fn login(&self) -> String {
        let id = random_hex();
        let now = Instant::now();
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS {
            let oldest = sessions
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(
            id.clone(),
            Session {
                csrf: random_hex(),
                expires: now + SESSION_TTL,
            },
        );
        id
    }

    /// Ends the session of `headers`' cookie, if any.
    pub fn logout(&self, headers: &HeaderMap) {
        if let Some(id) = cookie(headers, SESSION_COOKIE) {
            let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
            sessions.remove(id);
        }
    }

    fn session_csrf(&self, id: &str) -> Option<String> {
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        // A lookup by id is a hash probe, not a byte compare an attacker can time usefully:
        // the ids are 256-bit random values.
        sessions
            .get(id)
            .filter(|s| s.expires > Instant::now())
            .map(|s| s.csrf.clone())
    }

    fn identify(&self, headers: &HeaderMap) -> Option<Identity> {
        if let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        {
            if let Some(token) = strip_scheme(value, "bearer") {
                if self.matches(token.trim()) {
                    return Some(Identity::Bearer);
                }
            } else if let Some(encoded) = strip_scheme(value, "basic") {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok());
                let password = decoded
                    .as_deref()
                    .and_then(|d| d.split_once(':'))
                    .map(|(_, p)| p);
                if password.is_some_and(|p| self.matches(p)) {
                    return Some(Identity::Basic);
                }
            }
        }
        let id = cookie(headers, SESSION_COOKIE)?;
        self.session_csrf(id).map(Identity::Cookie)
    }
}

fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (name, rest) = value.split_once(' ')?;
    name.eq_ignore_ascii_case(scheme).then_some(rest)
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The middleware: lets a request through when no token is set, when its path is open, or
/// when it carries the token; otherwise 401 (programs) or a redirect to the login form
/// (browser GETs of `/ui/`). Checks the CSRF token of cookie- and Basic-authenticated
/// state-changing requests (403 when missing or wrong).
pub async fn require(
    State(auth): State<Option<Arc<Auth>>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(auth) = auth.as_deref() else {
        return next.run(with_csrf(request, String::new())).await;
    };
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    if is_open(&method, &path) {
        return next.run(with_csrf(request, String::new())).await;
    }
    let csrf = match auth.identify(request.headers()) {
        None => return unauthenticated(&method, &path),
        Some(Identity::Bearer) => return next.run(with_csrf(request, String::new())).await,
        Some(Identity::Basic) => auth.basic_csrf.clone(),
        Some(Identity::Cookie(csrf)) => csrf,
    };
    if matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(with_csrf(request, csrf)).await;
    }
    match checked_csrf(request, &csrf).await {
        Ok(request) => next.run(with_csrf(request, csrf)).await,
        Err(response) => response,
    }
}

fn with_csrf(mut request: Request, csrf: String) -> Request {
    request.extensions_mut().insert(Csrf(csrf));
    request
}

/// The request back when its CSRF token (header, or form field of a urlencoded body) is
/// `expected`; the 403 otherwise.
async fn checked_csrf(request: Request, expected: &str) -> Result<Request, Response> {
    if let Some(given) = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        return if same(given, expected) {
            Ok(request)
        } else {
            Err(csrf_refused())
        };
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(csrf_refused());
    }
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| csrf_refused())?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let ok = fields
        .iter()
        .any(|(k, v)| k == CSRF_FIELD && same(v, expected));
    if ok {
        Ok(Request::from_parts(parts, Body::from(bytes)))
    } else {
        Err(csrf_refused())
    }
}

fn unauthenticated(method: &Method, path: &str) -> Response {
    let browser_page = path.starts_with("/ui") && (method == Method::GET || method == Method::HEAD);
    if browser_page {
        let next: String = serde_urlencoded::to_string([("next", path)]).unwrap_or_default();
        return Redirect::to(&format!("/ui/login?{next}")).into_response();
    }
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        "This admin route needs the admin token: `Authorization: Bearer <token>`.",
        "invalid_api_key",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"micromodel admin\""),
    );
    response
}

fn csrf_refused() -> Response {
    error(
        StatusCode::FORBIDDEN,
        "A request authenticated by cookie or Basic auth that changes state needs the page's \
         CSRF token (header x-csrf-token or form field csrf).",
        "invalid_csrf_token",
    )
}

/// An error in the OpenAI shape.
pub fn error(status: StatusCode, message: &str, code: &str) -> Response {
    let body = serde_json::json!({
        "error": {"message": message, "type": "invalid_request_error", "param": null, "code": code}
    });
    (status, axum::Json(body)).into_response()
}
