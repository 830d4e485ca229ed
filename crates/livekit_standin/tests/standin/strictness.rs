//! Everything livekit-server refuses, refused the same way (facts §2.3, §3.1–3.3).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// A plain-text 401 from the auth middleware (never Twirp JSON).
fn assert_plain_401(r: &(u16, String, String), body: &str) {
    assert_eq!(r.0, 401, "{r:?}");
    assert!(r.1.starts_with("text/plain"), "{r:?}");
    assert_eq!(r.2, body);
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

const LIST: &str = "/twirp/livekit.RoomService/ListRooms";
const JSON_CT: (&str, &str) = ("content-type", "application/json");

#[tokio::test]
async fn error_vectors_are_produced_in_the_right_situations() {
    let app = spawn().await;
    let errors = vector("errors.json");

    // not_found: deleting a room that does not exist.
    let (s, body) = app
        .call_json("DeleteRoom", Some(&creator()), &json!({"room": "ghost"}))
        .await;
    assert_eq!(s, 404);
    assert_eq!(parse(&body), errors["not_found (HTTP 404, JSON)"]);

    // Grant missing: no token at all passes the middleware, then fails the handler's check.
    let (s, body) = app.call_json("ListRooms", None, &json!({})).await;
    assert_eq!(s, 401);
    assert_eq!(parse(&body), errors["grant missing (HTTP 401, JSON)"]);
    // ...and a valid token with the wrong grant.
    let (s, body) = app
        .call_json("CreateRoom", Some(&admin("x")), &json!({"name": "x"}))
        .await;
    assert_eq!(
        (s, parse(&body)),
        (401, errors["grant missing (HTTP 401, JSON)"].clone())
    );

    // Unknown API key.
    let foreign = sign(
        &json!({"iss": OTHER_KEY, "exp": now() + 60, "video": {"roomList": true}}),
        SECRET,
    );
    let r = app
        .raw(
            Method::POST,
            LIST,
            &[JSON_CT, ("authorization", &bearer(&foreign))],
            "{}",
        )
        .await;
    assert_plain_401(
        &r,
        errors["unknown api key (HTTP 401, plain text body)"]
            .as_str()
            .unwrap(),
    );
    // Empty iss is an unknown key too.
    let no_iss = sign(
        &json!({"exp": now() + 60, "video": {"roomList": true}}),
        SECRET,
    );
    let r = app
        .raw(
            Method::POST,
            LIST,
            &[JSON_CT, ("authorization", &bearer(&no_iss))],
            "{}",
        )
        .await;
    assert_plain_401(&r, "invalid API key");

    // Bad signature / expired: plain text with the documented prefix.
    let prefix = errors["bad signature or expired (HTTP 401, plain text body, prefix)"]
        .as_str()
        .unwrap();
    let forged = sign(
        &json!({"iss": KEY, "exp": now() + 60, "video": {"roomList": true}}),
        "not-the-secret",
    );
    let expired = sign(
        &json!({"iss": KEY, "exp": now() - 61, "video": {"roomList": true}}),
        SECRET,
    );
    let no_exp = sign(&json!({"iss": KEY, "video": {"roomList": true}}), SECRET);
    let future = sign(
        &json!({"iss": KEY, "nbf": now() + 120, "exp": now() + 600, "video": {"roomList": true}}),
        SECRET,
    );
    for (why, t) in [
        ("forged", forged),
        ("expired", expired),
        ("no exp", no_exp),
        ("nbf", future),
    ] {
        let r = app
            .raw(
                Method::POST,
                LIST,
                &[JSON_CT, ("authorization", &bearer(&t))],
                "{}",
            )
            .await;
        assert_eq!(r.0, 401, "{why}: {r:?}");
        assert!(r.1.starts_with("text/plain"), "{why}: {r:?}");
        assert!(
            r.2.starts_with(prefix) && r.2.len() > prefix.len(),
            "{why}: {r:?}"
        );
    }
    // Within the 60 s leeway both ways: accepted.
    let edge = sign(
        &json!({"iss": KEY, "nbf": now() + 30, "exp": now() - 30, "video": {"roomList": true}}),
        SECRET,
    );
    let r = app
        .raw(
            Method::POST,
            LIST,
            &[JSON_CT, ("authorization", &bearer(&edge))],
            "{}",
        )
        .await;
    assert_eq!(r.0, 200, "{r:?}");

    // Unparseable token, and a non-HS256 algorithm.
    let r = app
        .raw(
            Method::POST,
            LIST,
            &[JSON_CT, ("authorization", "Bearer not.a.jwt")],
            "{}",
        )
        .await;
    assert_plain_401(&r, "invalid authorization token");

    // Missing Bearer prefix (exact, case-sensitive).
    let missing = errors["missing Bearer prefix (HTTP 401, plain text body)"]
        .as_str()
        .unwrap();
    for h in [
        creator(),
        format!("bearer {}", creator()),
        format!("Token {}", creator()),
    ] {
        let r = app
            .raw(Method::POST, LIST, &[JSON_CT, ("authorization", &h)], "{}")
            .await;
        assert_plain_401(&r, missing);
    }
    app.standin.stop().await;
}

#[tokio::test]
async fn sdk_vector_tokens_are_judged_like_the_server() {
    // Only the first vector key is configured: the other one must be an unknown key.
    let tokens = vector("tokens.json");
    let secret = tokens["keys"]["APIvectors0001"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("livekit.yaml");
    std::fs::write(&yaml, format!("keys:\n  APIvectors0001: {secret}\n")).unwrap();
    let standin = livekit_standin::StandIn::start(&yaml, 0).await.unwrap();
    hero_livekit_api::tls::install_crypto_provider();
    let http = reqwest::Client::new();
    let post = |method: &str, token: &str, body: Value| {
        http.post(format!(
            "{}/twirp/livekit.RoomService/{method}",
            standin.url()
        ))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(body.to_string())
        .send()
    };
    let py = &tokens["python"];
    // Python SDK admin token: roomCreate + roomList + roomAdmin on "standup".
    let r = post(
        "CreateRoom",
        py["room_admin"].as_str().unwrap(),
        json!({"name": "standup"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let r = post(
        "ListParticipants",
        py["room_admin"].as_str().unwrap(),
        json!({"room": "standup"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let r = post(
        "ListParticipants",
        py["room_admin"].as_str().unwrap(),
        json!({"room": "other"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 401);
    // A participant token has no admin grants.
    let r = post("ListRooms", py["participant"].as_str().unwrap(), json!({}))
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), r.text().await.unwrap()),
        (
            401,
            r#"{"code":"unauthenticated","msg":"permissions denied"}"#.to_string()
        )
    );
    let r = post(
        "ListRooms",
        py["signed_by_other_key"].as_str().unwrap(),
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(
        (r.status().as_u16(), r.text().await.unwrap()),
        (401, "invalid API key".to_string())
    );
    let r = post("ListRooms", py["expired"].as_str().unwrap(), json!({}))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.text()
            .await
            .unwrap()
            .starts_with("invalid authorization token: ")
    );
    standin.stop().await;
}

#[tokio::test]
async fn access_token_query_is_the_fallback() {
    let app = spawn().await;
    let path = format!("{LIST}?access_token={}", creator());
    let r = app.raw(Method::POST, &path, &[JSON_CT], "{}").await;
    assert_eq!(r.0, 200, "{r:?}");
    // The header wins over the query when present.
    let r = app
        .raw(
            Method::POST,
            &path,
            &[JSON_CT, ("authorization", "Basic x")],
            "{}",
        )
        .await;
    assert_plain_401(&r, "invalid authorization header. Must start with Bearer ");
}

#[tokio::test]
async fn admin_of_room_a_is_refused_on_room_b() {
    let app = spawn().await;
    app.standin.join("a", "alice", "Alice", &[]);
    app.standin.join("b", "bob", "Bob", &[]);
    let denied = json!({"code": "unauthenticated", "msg": "permissions denied"});
    for (method, body) in [
        ("ListParticipants", json!({"room": "b"})),
        ("GetParticipant", json!({"room": "b", "identity": "bob"})),
        ("RemoveParticipant", json!({"room": "b", "identity": "bob"})),
        (
            "MutePublishedTrack",
            json!({"room": "b", "identity": "bob", "track_sid": "TR_x", "muted": true}),
        ),
        (
            "UpdateParticipant",
            json!({"room": "b", "identity": "bob", "metadata": "x"}),
        ),
        ("UpdateRoomMetadata", json!({"room": "b", "metadata": "x"})),
        ("SendData", json!({"room": "b", "data": "aGk="})),
        (
            "UpdateSubscriptions",
            json!({"room": "b", "identity": "bob"}),
        ),
    ] {
        let (s, out) = app.call_json(method, Some(&admin("a")), &body).await;
        assert_eq!((s, parse(&out)), (401, denied.clone()), "{method}");
    }
    // Forward/Move also need `destinationRoom` naming the destination; with both grants
    // right the single-node server has nothing to forward to.
    for method in ["ForwardParticipant", "MoveParticipant"] {
        let body = json!({"room": "a", "identity": "alice", "destination_room": "b"});
        let (s, out) = app.call_json(method, Some(&admin("a")), &body).await;
        assert_eq!((s, parse(&out)), (401, denied.clone()), "{method}");
        let wrong = token(json!({"roomAdmin": true, "room": "a", "destinationRoom": "c"}));
        let (s, _) = app.call_json(method, Some(&wrong), &body).await;
        assert_eq!(s, 401, "{method}");
        let both = token(json!({"roomAdmin": true, "room": "a", "destinationRoom": "b"}));
        let (s, out) = app.call_json(method, Some(&both), &body).await;
        assert_eq!(
            (s, parse(&out)),
            (
                501,
                json!({"code": "unimplemented", "msg": "not implemented"})
            ),
            "{method}"
        );
    }
    // No wildcard: an admin token with an empty room works for no room.
    for room in ["a", "b"] {
        let (s, _) = app
            .call_json("ListParticipants", Some(&admin("")), &json!({"room": room}))
            .await;
        assert_eq!(s, 401, "{room}");
    }
    let (s, _) = app
        .call_json("ListParticipants", Some(&admin("a")), &json!({"room": "a"}))
        .await;
    assert_eq!(s, 200);
    // roomAdmin does not imply roomCreate/roomList.
    let (s, _) = app
        .call_json("ListRooms", Some(&admin("a")), &json!({}))
        .await;
    assert_eq!(s, 401);
    let (s, _) = app
        .call_json("DeleteRoom", Some(&admin("a")), &json!({"room": "a"}))
        .await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn twirp_routing_and_content_type() {
    let app = spawn().await;
    let auth = bearer(&creator());
    let auth = ("authorization", auth.as_str());

    let r = app.raw(Method::GET, LIST, &[JSON_CT, auth], "").await;
    assert_eq!(r.0, 404);
    let v = parse(&r.2);
    assert_eq!(
        (v["code"].as_str(), v["msg"].as_str()),
        (
            Some("bad_route"),
            Some(r#"unsupported method "GET" (only POST is allowed)"#)
        )
    );
    assert_eq!(v["meta"]["twirp_invalid_route"], format!("GET {LIST}"));

    let r = app
        .raw(
            Method::POST,
            "/twirp/livekit.RoomService/Nope",
            &[JSON_CT, auth],
            "{}",
        )
        .await;
    assert_eq!(
        (r.0, parse(&r.2)["code"].clone()),
        (404, json!("bad_route"))
    );

    for ct in ["text/plain", "application/x-www-form-urlencoded", ""] {
        let r = app
            .raw(Method::POST, LIST, &[("content-type", ct), auth], "{}")
            .await;
        let v = parse(&r.2);
        assert_eq!(r.0, 404, "{ct}");
        assert_eq!(v["code"], "bad_route");
        assert!(
            v["msg"]
                .as_str()
                .unwrap()
                .starts_with("unexpected Content-Type"),
            "{v}"
        );
    }
    // `;charset=` is ignored, media type case-insensitive.
    let r = app
        .raw(
            Method::POST,
            LIST,
            &[("content-type", "Application/JSON; charset=UTF-8"), auth],
            "{}",
        )
        .await;
    assert_eq!(r.0, 200, "{r:?}");

    // Empty JSON body is malformed; `{}` is fine (above).
    let r = app.raw(Method::POST, LIST, &[JSON_CT, auth], "").await;
    assert_eq!(r.0, 400);
    assert_eq!(parse(&r.2)["code"], "malformed");
    let r = app
        .raw(Method::POST, LIST, &[JSON_CT, auth], "{not json")
        .await;
    assert_eq!(
        (r.0, parse(&r.2)["code"].clone()),
        (400, json!("malformed"))
    );
    // Garbage protobuf is malformed; an empty protobuf body is a valid empty message.
    let pb = ("content-type", "application/protobuf");
    let r = app
        .raw(Method::POST, LIST, &[pb, auth], "\u{7}\u{7}\u{7}")
        .await;
    assert_eq!(
        (r.0, parse(&r.2)["code"].clone()),
        (400, json!("malformed"))
    );
    let r = app.raw(Method::POST, LIST, &[pb, auth], "").await;
    assert_eq!((r.0, r.1.as_str()), (200, "application/protobuf"));

    // Unknown service path: Go's plain 404, not Twirp.
    let r = app
        .raw(
            Method::POST,
            "/twirp/livekit.Nope/ListRooms",
            &[JSON_CT, auth],
            "{}",
        )
        .await;
    assert_eq!((r.0, r.2.as_str()), (404, "404 page not found\n"));
    let r = app.raw(Method::GET, "/healthz", &[], "").await;
    assert_eq!((r.0, r.2.as_str()), (404, "404 page not found\n"));
}

#[tokio::test]
async fn health_is_exact_path_any_method() {
    let app = spawn().await;
    for m in [Method::GET, Method::POST, Method::HEAD] {
        let r = app.raw(m.clone(), "/", &[], "").await;
        assert_eq!(r.0, 200, "{m}");
        if m != Method::HEAD {
            assert_eq!(r.2, "OK");
        }
    }
    app.standin.set_ready(false);
    let r = app.raw(Method::GET, "/", &[], "").await;
    assert_eq!(r.0, 406);
    assert!(r.2.starts_with("Not Ready\nNode Updated At "), "{r:?}");
    app.standin.set_ready(true);
    assert_eq!(app.raw(Method::GET, "/", &[], "").await.0, 200);
}

#[tokio::test]
async fn missing_things_and_limits() {
    let app = spawn_with(
        "room:\n  empty_timeout: 300\nlimit:\n  max_metadata_size: 16\n  max_attributes_size: 10\n  \
         max_participant_name_length: 5\n  max_api_request_body_size: 4096\n",
    )
    .await;
    let mic = livekit_standin::TrackSpec {
        kind: livekit_standin::TrackKind::Audio,
        source: livekit_standin::Source::Microphone,
        name: "mic".into(),
    };
    app.standin.join("r", "alice", "Alice", &[mic]);
    let a = admin("r");
    let nf_room = json!({"code": "not_found", "msg": "requested room does not exist"});
    let nf_part = json!({"code": "not_found", "msg": "participant does not exist"});

    let (s, b) = app
        .call_json(
            "ListParticipants",
            Some(&admin("zz")),
            &json!({"room": "zz"}),
        )
        .await;
    // LiveKit's room store lists an unknown room as empty rather than not found.
    assert_eq!((s, parse(&b)), (200, json!({"participants": []})));
    for room in ["r", "zz"] {
        // A missing room is reported as a missing participant (LoadParticipant).
        let (s, b) = app
            .call_json(
                "GetParticipant",
                Some(&admin(room)),
                &json!({"room": room, "identity": "zed"}),
            )
            .await;
        assert_eq!((s, parse(&b)), (404, nf_part.clone()), "{room}");
        let (s, b) = app
            .call_json(
                "RemoveParticipant",
                Some(&admin(room)),
                &json!({"room": room, "identity": "zed"}),
            )
            .await;
        let removed = json!({"code": "not_found", "msg": "participant not found"});
        assert_eq!((s, parse(&b)), (404, removed), "{room}");
    }
    let (s, b) = app
        .call_json(
            "UpdateRoomMetadata",
            Some(&admin("zz")),
            &json!({"room": "zz", "metadata": "x"}),
        )
        .await;
    assert_eq!((s, parse(&b)), (404, nf_room.clone()));

    // Oversize input is invalid_argument, checked before grants (no token here).
    let big = "x".repeat(17);
    for (method, body) in [
        ("UpdateRoomMetadata", json!({"room": "r", "metadata": big})),
        (
            "UpdateParticipant",
            json!({"room": "r", "identity": "alice", "metadata": big}),
        ),
        (
            "UpdateParticipant",
            json!({"room": "r", "identity": "alice", "name": "toolong"}),
        ),
        (
            "UpdateParticipant",
            json!({"room": "r", "identity": "alice", "attributes": {"k": "0123456789"}}),
        ),
    ] {
        let (s, b) = app.call_json(method, None, &body).await;
        let v = parse(&b);
        assert_eq!(
            (s, v["code"].as_str()),
            (400, Some("invalid_argument")),
            "{method} {body}: {b}"
        );
        assert!(v["meta"]["argument"].is_string(), "{b}");
    }
    let (s, b) = app
        .call_json(
            "CreateRoom",
            Some(&creator()),
            &json!({"name": "n", "metadata": big}),
        )
        .await;
    assert_eq!(
        (s, parse(&b)["code"].clone()),
        (400, json!("invalid_argument"))
    );

    // SendData nonce: empty or exactly 16 bytes.
    let (s, b) = app
        .call_json(
            "SendData",
            Some(&a),
            &json!({"room": "r", "data": "aGk=", "nonce": "AAECAwQ="}),
        )
        .await;
    assert_eq!(
        (s, parse(&b)["code"].clone()),
        (400, json!("invalid_argument"))
    );
    let (s, _) = app
        .call_json(
            "SendData",
            Some(&a),
            &json!({"room": "r", "data": "aGk=", "nonce": "AAECAwQFBgcICQoLDA0ODw=="}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .call_json(
            "SendData",
            Some(&a),
            &json!({"room": "r", "data": "aGk=", "kind": "LOSSY"}),
        )
        .await;
    assert_eq!(s, 200);
    let sent = app.standin.data_messages("r");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].kind, livekit_standin::DataKind::Lossy);
    assert_eq!(sent[1].payload, b"hi");

    // Unknown track, then remote unmute disabled.
    let (s, b) = app
        .call_json(
            "MutePublishedTrack",
            Some(&a),
            &json!({"room": "r", "identity": "alice", "track_sid": "TR_none", "muted": true}),
        )
        .await;
    assert_eq!((s, parse(&b)["code"].clone()), (404, json!("not_found")));
    let (s, b) = app
        .call_json(
            "MutePublishedTrack",
            Some(&a),
            &json!({"room": "r", "identity": "alice", "track_sid": "TR_none", "muted": false}),
        )
        .await;
    assert_eq!(
        (s, parse(&b)),
        (
            412,
            json!({"code": "failed_precondition", "msg": "remote unmute not enabled"})
        )
    );

    // Announced oversize body: plain 413 before any decoding.
    let huge = format!(r#"{{"names":["{}"]}}"#, "x".repeat(5000));
    let r = app
        .raw(
            Method::POST,
            LIST,
            &[JSON_CT, ("authorization", &bearer(&creator()))],
            &huge,
        )
        .await;
    assert_eq!((r.0, r.2.as_str()), (413, "request body too large"));
}

#[tokio::test]
async fn remote_unmute_when_enabled() {
    let app = spawn_with("room:\n  enable_remote_unmute: true\n").await;
    let cam = livekit_standin::TrackSpec {
        kind: livekit_standin::TrackKind::Video,
        source: livekit_standin::Source::Camera,
        name: "cam".into(),
    };
    app.standin.join("r", "alice", "Alice", &[cam]);
    let rc = app.room_client();
    let tr = rc.get_participant("r", "alice").await.unwrap().tracks[0]
        .sid
        .clone();
    assert!(
        rc.mute_published_track("r", "alice", &tr, true)
            .await
            .unwrap()
            .muted
    );
    assert!(
        !rc.mute_published_track("r", "alice", &tr, false)
            .await
            .unwrap()
            .muted
    );
}

#[tokio::test]
async fn restart_on_same_port_rereads_keys_and_starts_empty() {
    let app = spawn().await;
    let port = app.standin.port();
    app.standin.join("r", "alice", "Alice", &[]);
    assert_eq!(app.standin.loaded_keys(), [KEY]);
    // The stand-in read the file once: editing it changes nothing until a restart.
    std::fs::write(&app.yaml, "keys:\n  APInew: newSecret0123456789\n").unwrap();
    let (s, _) = app
        .call_json("ListRooms", Some(&creator()), &json!({}))
        .await;
    assert_eq!(s, 200);

    let TestApp {
        standin,
        http,
        _dir,
        yaml,
    } = app;
    standin.stop().await;
    let standin = livekit_standin::StandIn::start(&yaml, port).await.unwrap();
    assert_eq!(standin.port(), port);
    assert_eq!(standin.loaded_keys(), ["APInew"]);
    let list = |t: String| {
        http.post(format!("{}{LIST}", standin.url()))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {t}"))
            .body("{}")
            .send()
    };
    let r = list(creator()).await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.text().await.unwrap()),
        (401, "invalid API key".into())
    );
    let t = sign(
        &json!({"iss": "APInew", "exp": now() + 60, "video": {"roomList": true}}),
        "newSecret0123456789",
    );
    let r = list(t).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(parse(&r.text().await.unwrap()), json!({"rooms": []}));
    standin.stop().await;
}
