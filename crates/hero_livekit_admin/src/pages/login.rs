//! `/login` (token URL or form) and `/logout`.

use axum::Extension;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{self, Session};
use crate::html;

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    token: Option<String>,
    bye: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
}

fn form(error: Option<&str>, bye: bool) -> Markup {
    html! {
        div.card.login {
            h1 { "hero_livekit admin" }
            @if bye { div.banner.ok role="status" { "You are logged out." } }
            p.muted {
                "Open the login link that " code { "hero_livekit_admin" }
                " printed when it started, or paste the token from "
                code { "<home>/admin.token" } "."
            }
            form method="post" action="/login" {
                div.field {
                    label for="token" { "Login token" }
                    input #token type="password" name="token" autocomplete="current-password" required autofocus;
                }
                @if let Some(e) = error { (html::form_error(e)) }
                button type="submit" { "Log in" }
            }
        }
    }
}

fn login_page(status: StatusCode, error: Option<&str>, bye: bool) -> Response {
    html::respond(status, html::bare_page("Log in", None, form(error, bye)))
}

const BAD_TOKEN: &str = "That login token is not valid.";

/// `GET /login?token=…` logs in; without a token it shows the form.
pub async fn login_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let Some(token) = q.token.filter(|t| !t.is_empty()) else {
        if auth::current(&state, &headers).is_some() {
            return Redirect::to("/").into_response();
        }
        return login_page(StatusCode::OK, None, q.bye.is_some());
    };
    if !state.login.matches(&token) {
        tracing::warn!("login refused: wrong token");
        return login_page(StatusCode::UNAUTHORIZED, Some(BAD_TOKEN), false);
    }
    let id = state.sessions.create();
    tracing::info!("operator logged in");
    // A page that moves on by itself rather than a redirect: the SameSite=Strict cookie is then
    // sent even when the link was opened from another site (a chat, a mail client).
    let refresh = html! { meta http-equiv="refresh" content="0;url=/"; };
    let body = html! {
        div.card.login {
            h1 { "Logged in" }
            p { a href="/" { "Continue to the overview" } }
        }
    };
    (
        [(
            header::SET_COOKIE,
            auth::session_cookie(&state, &headers, &id),
        )],
        html::ok(html::bare_page("Logged in", Some(refresh), body)),
    )
        .into_response()
}

/// `POST /login` with the token pasted in the form.
pub async fn login_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    if let Err(e) = auth::same_origin(&headers) {
        return e.into_response();
    }
    if !state.login.matches(&f.token) {
        tracing::warn!("login refused: wrong token");
        return login_page(StatusCode::UNAUTHORIZED, Some(BAD_TOKEN), false);
    }
    let id = state.sessions.create();
    tracing::info!("operator logged in");
    (
        [(
            header::SET_COOKIE,
            auth::session_cookie(&state, &headers, &id),
        )],
        Redirect::to("/"),
    )
        .into_response()
}

/// `GET /logout`: a confirmation button (logging out changes state, so it is a POST).
pub async fn logout_page(Extension(session): Extension<Session>) -> Response {
    html::ok(html::bare_page(
        "Log out",
        None,
        html! {
            div.card.login {
                h1 { "Log out?" }
                form method="post" action="/logout" {
                    (html::csrf(&session))
                    button type="submit" { "Log out" } " "
                    a.button.secondary href="/" { "Cancel" }
                }
            }
        },
    ))
}

/// `POST /logout`: ends the session.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(session): Extension<Session>,
) -> Response {
    state.sessions.remove(&session);
    tracing::info!("operator logged out");
    (
        [(header::SET_COOKIE, auth::clear_cookie(&state, &headers))],
        Redirect::to("/login?bye=1"),
    )
        .into_response()
}
