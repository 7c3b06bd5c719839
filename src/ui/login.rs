//! The login form (`GET`/`POST /ui/login`) and `POST /ui/logout`. A right token starts a
//! session: cookie `micromodel_session`, `HttpOnly`, `SameSite=Strict`, `Path=/`, 12 hours.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;

use super::auth::{SESSION_COOKIE, SESSION_TTL};
use super::page::{respond, shell, Tab};
use crate::admin::state::AdminState;

/// The form's fields (and `?next=` of the GET).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct LoginForm {
    /// The admin token.
    pub token: String,
    /// Where to go after the login (a `/ui/` path; anything else goes to `/ui/`).
    pub next: String,
}

fn safe_next(next: &str) -> &str {
    let ok = next.starts_with("/ui/") && !next.starts_with("//") && !next.contains('\\');
    if ok {
        next
    } else {
        "/ui/"
    }
}

fn form_page(status: StatusCode, next: &str, failed: bool) -> Response {
    let body = html! {
        div.card.login {
            h1 { "Log in" }
            p.muted { "Enter the admin token (the value of --admin-token)." }
            @if failed { p.error #login-error { "That is not the admin token." } }
            form method="post" action="/ui/login" {
                input type="hidden" name="next" value=(safe_next(next));
                p { input type="password" name="token" autocomplete="current-password" autofocus style="width:100%"; }
                p { button type="submit" { "Log in" } }
            }
        }
    };
    respond(status, shell("Log in", Tab::Login, "", body))
}

/// `GET /ui/login`.
pub async fn show(Query(form): Query<LoginForm>) -> Response {
    form_page(StatusCode::OK, &form.next, false)
}

/// `POST /ui/login`: the session cookie and a redirect, or the form again with 401.
pub async fn submit(State(state): State<Arc<AdminState>>, Form(form): Form<LoginForm>) -> Response {
    let Some(auth) = state.auth.as_ref() else {
        return Redirect::to(safe_next(&form.next)).into_response();
    };
    if !auth.matches(&form.token) {
        tracing::warn!("A login to the admin page was refused (wrong token).");
        return form_page(StatusCode::UNAUTHORIZED, &form.next, true);
    }
    let id = auth.login();
    let cookie = format!(
        "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_TTL.as_secs()
    );
    let mut response = Redirect::to(safe_next(&form.next)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `POST /ui/logout` (CSRF-checked by the auth layer): ends the session, clears the cookie.
pub async fn logout(State(state): State<Arc<AdminState>>, headers: HeaderMap) -> Response {
    if let Some(auth) = state.auth.as_ref() {
        auth.logout(&headers);
    }
    let mut response = Redirect::to("/ui/login").into_response();
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_the_page() {
        assert_eq!(safe_next("/ui/records?q=a"), "/ui/records?q=a");
        assert_eq!(safe_next("https://evil.example/"), "/ui/");
        assert_eq!(safe_next("//evil.example/ui/"), "/ui/");
        assert_eq!(safe_next("/ui/\\evil"), "/ui/");
    }
}
