//! `--admin-token` and the data page without a browser: the token guards `/metrics`, `/ui/*`
//! and `/api/*` (and unknown paths); `/healthz` and `/readyz` stay open; Basic and the login
//! cookie work; a cookie- or Basic-authenticated POST without the CSRF token is refused; bad
//! token flags are start errors; recorded strings are escaped.

mod common;
mod ui_support;

use std::process::Command;

use reqwest::header;
use reqwest::redirect::Policy;
use serde_json::Value;
use ui_support::{send_traffic, start, TOKEN};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

async fn error_code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.expect("JSON error body");
    body["error"]["code"].as_str().unwrap_or("").to_owned()
}

#[tokio::test]
async fn the_token_guards_every_admin_route_but_the_probes() {
    let running = start(Some(TOKEN));
    let client = no_redirects();
    let admin = &running.admin;
    for path in ["/metrics", "/api/labels", "/api/anything", "/nope"] {
        let response = client.get(format!("{admin}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 401, "{path}");
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
        assert_eq!(error_code(response).await, "invalid_api_key", "{path}");
        let wrong = client
            .get(format!("{admin}{path}"))
            .bearer_auth("not-the-token")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path} with a wrong token");
    }
    let posted = client
        .post(format!("{admin}/api/labels"))
        .json(&serde_json::json!({"request_id": "x", "label": "good"}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 401);
    for path in ["/healthz", "/readyz"] {
        let response = client.get(format!("{admin}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path} stays open");
    }
    let metrics = client
        .get(format!("{admin}/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.text().await.unwrap().contains("micromodel_"));
    // A browser without credentials is sent to the login form.
    let page = client
        .get(format!("{admin}/ui/records?q=a"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(
        page.headers()[header::LOCATION],
        "/ui/login?next=%2Fui%2Frecords"
    );
    for path in ["/ui/", "/ui/live", "/ui/records", "/ui/ui.js"] {
        let basic = client
            .get(format!("{admin}{path}"))
            .basic_auth("anyone", Some(TOKEN))
            .send()
            .await
            .unwrap();
        assert_eq!(basic.status(), 200, "{path} with Basic");
        let wrong = client
            .get(format!("{admin}{path}"))
            .basic_auth("anyone", Some("wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 303, "{path} with a wrong Basic password");
    }
    // A Basic-authenticated POST needs the CSRF token too (browsers resend Basic by themselves).
    let basic_post = client
        .post(format!("{admin}/api/labels"))
        .basic_auth("anyone", Some(TOKEN))
        .json(&serde_json::json!({"request_id": "x", "label": "good"}))
        .send()
        .await
        .unwrap();
    assert_eq!(basic_post.status(), 403);
    assert_eq!(error_code(basic_post).await, "invalid_csrf_token");
    assert!(
        !running.proxy.logs().contains(TOKEN),
        "the token is never logged"
    );
}

fn session_cookie(response: &reqwest::Response) -> String {
    let set = response.headers()[header::SET_COOKIE]
        .to_str()
        .expect("test setup")
        .to_owned();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    set.split(';').next().expect("test setup").to_owned()
}

fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("the page embeds the CSRF token");
    page[at + 19..at + 19 + 64].to_owned()
}

#[tokio::test]
async fn the_login_form_sets_a_session_cookie_and_posts_need_its_csrf_token() {
    let running = start(Some(TOKEN));
    let client = no_redirects();
    let admin = &running.admin;
    let form = client
        .get(format!("{admin}/ui/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let wrong = client
        .post(format!("{admin}/ui/login"))
        .form(&[("token", "wrong"), ("next", "/ui/live")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get(header::SET_COOKIE).is_none());
    let login = client
        .post(format!("{admin}/ui/login"))
        .form(&[("token", TOKEN), ("next", "/ui/live")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    assert_eq!(login.headers()[header::LOCATION], "/ui/live");
    let cookie = session_cookie(&login);
    let page = client
        .get(format!("{admin}/ui/live"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csrf = csrf_of(&page.text().await.unwrap());
    // The cookie opens the API too, but a POST by cookie needs the CSRF token.
    let no_csrf = client
        .post(format!("{admin}/api/labels"))
        .header(header::COOKIE, &cookie)
        .json(&serde_json::json!({"request_id": "x", "label": "good"}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), 403);
    let wrong_csrf = client
        .post(format!("{admin}/ui/logout"))
        .header(header::COOKIE, &cookie)
        .header("x-csrf-token", "0".repeat(64))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_csrf.status(), 403);
    let logout = client
        .post(format!("{admin}/ui/logout"))
        .header(header::COOKIE, &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        logout.status(),
        303,
        "the form field carries the CSRF token"
    );
    let after = client
        .get(format!("{admin}/ui/"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 303, "the session ended at the logout");
}

#[tokio::test]
async fn without_a_token_everything_is_open() {
    let running = start(None);
    let client = no_redirects();
    for path in ["/metrics", "/ui/", "/ui/records", "/ui/live"] {
        let response = client
            .get(format!("{}{path}", running.admin))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn recorded_strings_are_escaped() {
    let running = start(Some(TOKEN));
    send_traffic(&running).await;
    let client = no_redirects();
    let list = client
        .get(format!("{}/ui/records?q=script", running.admin))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("&lt;script&gt;window.__xss=1&lt;/script&gt;"),
        "{list}"
    );
    assert!(!list.contains("<script>window"), "{list}");
    let at = list.find("/ui/record/").expect("a link to the record");
    let href: String = list[at..].chars().take_while(|c| *c != '"').collect();
    let page = client
        .get(format!("{}{}", running.admin, href.replace("&amp;", "&")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "{href}");
    let page = page.text().await.unwrap();
    assert!(page.contains("&lt;script&gt;window.__xss=1&lt;/script&gt;"));
    assert!(!page.contains("<script>window"));
}

fn serve_with_token(token: &str, env: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("test setup");
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"a":{{"OPENAI_API_HOST":"http://127.0.0.1:9","PORT":{}}}}}"#,
            common::free_port()
        ),
    )
    .expect("test setup");
    let admin = format!("127.0.0.1:{}", common::free_port());
    let mut command = Command::new(env!("CARGO_BIN_EXE_micromodel"));
    command
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--admin-addr", &admin, "--admin-token", token])
        .env_remove("MICROMODEL_ADMIN_TOKEN");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("test setup")
}

#[test]
fn an_empty_token_or_an_unset_variable_is_a_start_error() {
    let out = serve_with_token("", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--admin-token is empty"));
    let out = serve_with_token("env:MICROMODEL_UI_TEST_UNSET", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("MICROMODEL_UI_TEST_UNSET, which is not set")
    );
    let out = serve_with_token(
        "env:MICROMODEL_UI_TEST_EMPTY",
        &[("MICROMODEL_UI_TEST_EMPTY", "")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--admin-token is empty"));
}

#[tokio::test]
async fn the_token_can_come_from_the_environment() {
    let upstream = common::FakeUpstream::start(common::upstream::openai_like);
    let port = common::free_port();
    let admin_port = common::free_port();
    let admin = format!("127.0.0.1:{admin_port}");
    let proxy = common::Proxy::start_with_env(
        &common::one_workflow("w", &upstream.url, port, "k"),
        &["--admin-addr", &admin, "--admin-token", "env:UI_TEST_TOKEN"],
        &[("UI_TEST_TOKEN", "from-env-7")],
    );
    common::eventually(std::time::Duration::from_secs(20), "admin port", || {
        std::net::TcpStream::connect(("127.0.0.1", admin_port)).map(|_| ())
    });
    let client = no_redirects();
    let ok = client
        .get(format!("http://{admin}/metrics"))
        .bearer_auth("from-env-7")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let literal = client
        .get(format!("http://{admin}/metrics"))
        .bearer_auth("env:UI_TEST_TOKEN")
        .send()
        .await
        .unwrap();
    assert_eq!(literal.status(), 401);
    assert!(!proxy.logs().contains("from-env-7"));
}
