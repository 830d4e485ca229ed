//! livekit.Egress: grants, the Redis and worker errors, the worker's request checks, the
//! simulated lifecycle with its webhooks, and ListEgress forgetting finished egresses.

use std::time::Duration;

use livekit_api::services::egress::{
    EgressClient, EgressListFilter, EgressListOptions, EgressOutput, RoomCompositeOptions,
};
use livekit_protocol as proto;
use livekit_standin::{Options, Source, TrackKind, TrackSpec};
use proto::EgressStatus as St;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::side::*;

const METHODS: &[&str] = &[
    "StartEgress",
    "StartRoomCompositeEgress",
    "StartWebEgress",
    "StartParticipantEgress",
    "StartTrackCompositeEgress",
    "StartTrackEgress",
    "UpdateLayout",
    "UpdateStream",
    "ListEgress",
    "StopEgress",
];

fn file(path: &str) -> proto::EncodedFileOutput {
    proto::EncodedFileOutput {
        filepath: path.into(),
        ..Default::default()
    }
}

fn composite(room: &str, path: &str) -> proto::RoomCompositeEgressRequest {
    proto::RoomCompositeEgressRequest {
        room_name: room.into(),
        layout: "grid".into(),
        file_outputs: vec![file(path)],
        ..Default::default()
    }
}

async fn wait_status(s: &Side, id: &str, status: St) -> proto::EgressInfo {
    for _ in 0..100 {
        let r: proto::ListEgressResponse = s
            .pb(
                "Egress",
                "ListEgress",
                Some(&recorder()),
                &proto::ListEgressRequest {
                    egress_id: id.into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        if r.items[0].status == status as i32 {
            return r.items[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("egress {id} never reached {status:?}");
}

#[tokio::test]
async fn every_method_needs_the_room_record_grant() {
    let s = side(true, fast(), "").await;
    for m in METHODS {
        // No token, and a token with every other admin grant.
        let (st, body) = s.json("Egress", m, None, &json!({})).await;
        assert_eq!(
            (st, body),
            (401, twirp("unauthenticated", "permissions denied")),
            "{m}"
        );
        let t = token(
            json!({"roomAdmin": true, "room": "r", "roomCreate": true, "roomList": true, "ingressAdmin": true}),
        );
        let err = s
            .pb::<_, proto::EgressInfo>("Egress", m, Some(&t), &proto::StopEgressRequest::default())
            .await
            .unwrap_err();
        assert_eq!(
            err,
            (401, twirp("unauthenticated", "permissions denied")),
            "{m}"
        );
    }
}

#[tokio::test]
async fn without_redis_start_finds_no_worker_and_the_store_is_not_connected() {
    let s = side(false, fast(), "").await;
    s.standin.join("standup", "alice", "Alice", &[]);
    let rec = recorder();
    // The room is looked up first, then the request goes out on an empty bus.
    let (st, body) = s
        .json(
            "Egress",
            "StartRoomCompositeEgress",
            Some(&rec),
            &json!({"room_name": "nope", "file_outputs": [{"filepath": "a.mp4"}]}),
        )
        .await;
    assert_eq!(
        (st, body),
        (404, twirp("not_found", "requested room does not exist"))
    );
    let err = s
        .pb::<_, proto::EgressInfo>(
            "Egress",
            "StartRoomCompositeEgress",
            Some(&rec),
            &composite("standup", "a.mp4"),
        )
        .await
        .unwrap_err();
    assert_eq!(err, (503, twirp("unavailable", "no response from servers")));
    let (st, body) = s
        .json(
            "Egress",
            "StartWebEgress",
            Some(&rec),
            &json!({"url": "https://example.com"}),
        )
        .await;
    assert_eq!(
        (st, body),
        (503, twirp("unavailable", "no response from servers"))
    );
    for m in ["ListEgress", "StopEgress", "UpdateLayout", "UpdateStream"] {
        let (st, body) = s
            .json("Egress", m, Some(&rec), &json!({"egress_id": "EG_x"}))
            .await;
        assert_eq!(
            (st, body),
            (
                500,
                twirp("internal", "egress not connected (redis required)")
            ),
            "{m}"
        );
    }
}

#[tokio::test]
async fn with_redis_but_no_worker_start_gets_no_response() {
    let s = side(
        true,
        Options {
            egress_worker: false,
            ..fast()
        },
        "",
    )
    .await;
    s.standin.join("standup", "alice", "Alice", &[]);
    let err = s
        .pb::<_, proto::EgressInfo>(
            "Egress",
            "StartRoomCompositeEgress",
            Some(&recorder()),
            &composite("standup", "a.mp4"),
        )
        .await
        .unwrap_err();
    assert_eq!(err, (503, twirp("unavailable", "no response from servers")));
    // The store itself is there.
    let (st, body) = s
        .json("Egress", "ListEgress", Some(&recorder()), &json!({}))
        .await;
    assert_eq!((st, body), (200, json!({})));
}

#[tokio::test]
async fn requests_are_checked_like_the_egress_worker() {
    let s = side(true, fast(), "").await;
    let mic = TrackSpec {
        kind: TrackKind::Audio,
        source: Source::Microphone,
        name: "mic".into(),
    };
    s.standin.join("standup", "alice", "Alice", &[mic]);
    let rec = recorder();
    let bad = |f: &str| {
        twirp(
            "invalid_argument",
            &format!("request has missing or invalid field: {f}"),
        )
    };
    let cases: Vec<(&str, Value, (u16, Value))> = vec![
        (
            "StartRoomCompositeEgress",
            json!({"room_name": "standup"}),
            (400, bad("output")),
        ),
        (
            "StartRoomCompositeEgress",
            json!({"room_name": "standup", "audio_only": true, "video_only": true, "file_outputs": [{}]}),
            (400, bad("audio_only and video_only")),
        ),
        (
            "StartRoomCompositeEgress",
            json!({"room_name": "standup", "file_outputs": [{"filepath": "a"}, {"filepath": "b"}]}),
            (400, bad("multiple file outputs")),
        ),
        (
            "StartRoomCompositeEgress",
            json!({"room_name": "standup", "stream_outputs": [{"urls": ["rtmp://h/app/k"]}, {"urls": ["rtmp://h/app/k2"]}]}),
            (400, bad("multiple stream outputs")),
        ),
        (
            "StartRoomCompositeEgress",
            json!({"room_name": "standup", "stream_outputs": [{"urls": []}]}),
            (400, bad("stream protocol")),
        ),
        (
            "StartRoomCompositeEgress",
            json!({"room_name": "standup", "stream_outputs": [{"urls": ["http://h/app/secretkey"]}]}),
            (
                400,
                twirp(
                    "invalid_argument",
                    "invalid url http://h/app/secretkey: invalid protocol",
                ),
            ),
        ),
        (
            "StartRoomCompositeEgress",
            json!({"room_name": "standup", "audio_only": true, "image_outputs": [{"capture_interval": 5}]}),
            (400, bad("audio_only images")),
        ),
        (
            "StartRoomCompositeEgress",
            json!({"room_name": "standup", "segment_outputs": [{"playlist_name": "a.m3u8"}, {"playlist_name": "b.m3u8"}]}),
            (400, bad("multiple segmented file outputs")),
        ),
        (
            "StartWebEgress",
            json!({"url": "ftp://x", "file_outputs": [{}]}),
            (400, bad("web url")),
        ),
        (
            "StartParticipantEgress",
            json!({"room_name": "standup", "file_outputs": [{}]}),
            (400, bad("identity")),
        ),
        (
            "StartParticipantEgress",
            json!({"room_name": "standup", "identity": "bob", "file_outputs": [{}]}),
            (404, twirp("not_found", "participant bob not found")),
        ),
        (
            "StartTrackCompositeEgress",
            json!({"room_name": "standup", "file_outputs": [{}]}),
            (400, bad("audio_track_id or video_track_id")),
        ),
        (
            "StartTrackCompositeEgress",
            json!({"room_name": "standup", "audio_track_id": "TR_none", "file_outputs": [{}]}),
            (404, twirp("not_found", "track TR_none not found")),
        ),
        (
            "StartTrackEgress",
            json!({"room_name": "standup", "file": {"filepath": "x"}}),
            (400, bad("track_id")),
        ),
        (
            "StartTrackEgress",
            json!({"room_name": "missing", "track_id": "TR_x"}),
            (404, twirp("not_found", "requested room does not exist")),
        ),
        (
            "StartEgress",
            json!({"room_name": "standup", "template": {"layout": "grid"}}),
            (400, bad("output")),
        ),
        (
            "StartEgress",
            json!({"room_name": "standup", "outputs": [{"file": {}}]}),
            (400, bad("source")),
        ),
    ];
    for (m, body, want) in cases {
        let got = s.json("Egress", m, Some(&rec), &body).await;
        assert_eq!(got, want, "{m} {body}");
    }
    let (st, body) = s
        .json(
            "Egress",
            "ListEgress",
            Some(&rec),
            &json!({"egress_id": "EG_missing"}),
        )
        .await;
    assert_eq!(
        (st, body),
        (404, twirp("not_found", "egress does not exist"))
    );
}

#[tokio::test]
async fn every_kind_starts_in_both_encodings() {
    let s = side(true, fast(), "").await;
    let tracks = [
        TrackSpec {
            kind: TrackKind::Audio,
            source: Source::Microphone,
            name: "mic".into(),
        },
        TrackSpec {
            kind: TrackKind::Video,
            source: Source::Camera,
            name: "cam".into(),
        },
    ];
    s.standin.join("standup", "alice", "Alice", &tracks);
    let rc = livekit_api::services::room::RoomClient::with_api_key(&s.standin.url(), KEY, SECRET)
        .with_failover(false);
    let p = rc.list_participants("standup").await.unwrap().remove(0);
    let (audio, video) = (p.tracks[0].sid.clone(), p.tracks[1].sid.clone());
    let room_sid = rc.list_rooms(vec![]).await.unwrap()[0].sid.clone();
    let rec = recorder();
    let out = json!([{"filepath": "rec/{room_name}-{time}"}]);
    let requests: Vec<(&str, Value, &str)> = vec![
        (
            "StartRoomCompositeEgress",
            json!({"room_name": "standup", "layout": "speaker", "file_outputs": out}),
            "EGRESS_SOURCE_TYPE_WEB",
        ),
        (
            "StartWebEgress",
            json!({"url": "https://example.com/board", "file_outputs": out}),
            "EGRESS_SOURCE_TYPE_WEB",
        ),
        (
            "StartParticipantEgress",
            json!({"room_name": "standup", "identity": "alice", "file_outputs": out}),
            "EGRESS_SOURCE_TYPE_SDK",
        ),
        (
            "StartTrackCompositeEgress",
            json!({"room_name": "standup", "audio_track_id": audio, "video_track_id": video, "file_outputs": out}),
            "EGRESS_SOURCE_TYPE_SDK",
        ),
        (
            "StartTrackEgress",
            json!({"room_name": "standup", "track_id": audio, "file": {"filepath": "tracks/{track_id}"}}),
            "EGRESS_SOURCE_TYPE_SDK",
        ),
        (
            "StartEgress",
            json!({"room_name": "standup", "template": {"layout": "grid"}, "outputs": [{"file": {"filepath": "v2.mp4"}}]}),
            "EGRESS_SOURCE_TYPE_WEB",
        ),
    ];
    for (m, body, source) in &requests {
        let (st, info) = s.json("Egress", m, Some(&rec), body).await;
        assert_eq!(st, 200, "{m}: {info}");
        // protojson with proto names: snake_case, enums by name, int64 as strings.
        assert!(
            info["egress_id"].as_str().unwrap().starts_with("EG_"),
            "{info}"
        );
        assert_eq!(
            info["status"],
            Value::Null,
            "EGRESS_STARTING is the default: {info}"
        );
        assert!(info["updated_at"].is_string(), "{info}");
        assert_eq!(
            info["source_type"]
                .as_str()
                .unwrap_or("EGRESS_SOURCE_TYPE_WEB"),
            *source,
            "{m}"
        );
        if *m == "StartWebEgress" {
            assert!(info.get("room_name").is_none() && info.get("room_id").is_none());
        } else {
            assert_eq!(
                (info["room_name"].as_str(), info["room_id"].as_str()),
                (Some("standup"), Some(room_sid.as_str()))
            );
        }
    }
    // And the same in protobuf.
    let rc_req = composite("standup", "pb.mp4");
    let info: proto::EgressInfo = s
        .pb("Egress", "StartRoomCompositeEgress", Some(&rec), &rc_req)
        .await
        .unwrap();
    assert_eq!(info.status(), St::EgressStarting);
    assert!(
        info.updated_at > 1_000_000_000_000_000_000,
        "nanoseconds: {}",
        info.updated_at
    );
    assert!(
        matches!(&info.request, Some(proto::egress_info::Request::RoomComposite(r)) if r.layout == "grid")
    );
    let info: proto::EgressInfo = s
        .pb(
            "Egress",
            "StartTrackEgress",
            Some(&rec),
            &proto::TrackEgressRequest {
                room_name: "standup".into(),
                track_id: video.clone(),
                output: Some(proto::track_egress_request::Output::WebsocketUrl(
                    "wss://sink.example/ws?token=abc".into(),
                )),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // The echoed request has the query value redacted, like LiveKit's RedactDirectOutputs.
    assert!(
        matches!(&info.request, Some(proto::egress_info::Request::Track(t))
        if t.output == Some(proto::track_egress_request::Output::WebsocketUrl("wss://sink.example/ws?token={...}".into())))
    );

    let all: proto::ListEgressResponse = s
        .pb(
            "Egress",
            "ListEgress",
            Some(&rec),
            &proto::ListEgressRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(all.items.len(), requests.len() + 2);
    let (st, listed) = s
        .json(
            "Egress",
            "ListEgress",
            Some(&rec),
            &json!({"room_name": "standup"}),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        requests.len() + 1,
        "all but the web egress"
    );
}

#[tokio::test]
async fn lifecycle_results_and_webhooks() {
    let mut s = side(true, fast(), "").await;
    s.standin.join("standup", "alice", "Alice", &[]);
    let client = EgressClient::with_api_key(&s.standin.url(), KEY, SECRET).with_failover(false);
    let mut f = file("recordings/{room_name}.mp4");
    f.output = Some(proto::encoded_file_output::Output::S3(proto::S3Upload {
        access_key: "AKIAEXAMPLE".into(),
        secret: "very-secret".into(),
        bucket: "rec".into(),
        ..Default::default()
    }));
    let stream = proto::StreamOutput {
        protocol: proto::StreamProtocol::Rtmp as i32,
        urls: vec!["rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl".into()],
    };
    let info = client
        .start_room_composite_egress(
            "standup",
            vec![EgressOutput::File(f), EgressOutput::Stream(stream)],
            RoomCompositeOptions {
                layout: "grid".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let id = info.egress_id.clone();
    assert_eq!(info.status(), St::EgressStarting);
    assert_eq!(info.started_at, 0);
    // Credentials and stream keys never come back.
    let Some(proto::egress_info::Request::RoomComposite(echo)) = &info.request else {
        panic!()
    };
    let Some(proto::encoded_file_output::Output::S3(s3)) = &echo.file_outputs[0].output else {
        panic!()
    };
    assert_eq!(
        (
            s3.access_key.as_str(),
            s3.secret.as_str(),
            s3.bucket.as_str()
        ),
        ("{access_key}", "{secret}", "rec")
    );
    assert_eq!(
        echo.stream_outputs[0].urls,
        ["rtmp://a.rtmp.youtube.com/live2/{abc...jkl}"]
    );
    assert_eq!(
        info.stream_results[0].url,
        "rtmp://a.rtmp.youtube.com/live2/{abc...jkl}"
    );

    let active = wait_status(&s, &id, St::EgressActive).await;
    assert!(active.started_at > 0);
    let listed = client
        .list_egress(EgressListOptions {
            filter: EgressListFilter::Room("standup".into()),
            active: true,
            page_token: None,
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);

    // Streams can be added and removed while active.
    let rec = recorder();
    let updated: proto::EgressInfo = s
        .pb(
            "Egress",
            "UpdateStream",
            Some(&rec),
            &proto::UpdateStreamRequest {
                egress_id: id.clone(),
                add_output_urls: vec!["rtmps://live.example.com/app/second-key".into()],
                remove_output_urls: vec!["rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl".into()],
            },
        )
        .await
        .unwrap();
    let states: Vec<_> = updated
        .stream_results
        .iter()
        .map(|r| (r.url.as_str(), r.status()))
        .collect();
    assert_eq!(
        states,
        [
            (
                "rtmp://a.rtmp.youtube.com/live2/{abc...jkl}",
                proto::stream_info::Status::Finished
            ),
            (
                "rtmps://live.example.com/app/{sec...key}",
                proto::stream_info::Status::Active
            ),
        ]
    );
    let err = s
        .json(
            "Egress",
            "UpdateStream",
            Some(&rec),
            &json!({"egress_id": id, "remove_output_urls": ["rtmp://x/y/zzzzzz"]}),
        )
        .await;
    assert_eq!(
        err,
        (
            404,
            twirp("not_found", "stream rtmp://x/y/{zz...zz} not found")
        )
    );
    let laid: proto::EgressInfo = s
        .pb(
            "Egress",
            "UpdateLayout",
            Some(&rec),
            &proto::UpdateLayoutRequest {
                egress_id: id.clone(),
                layout: "speaker".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(laid.egress_id, id);

    let ending = client.stop_egress(&id).await.unwrap();
    assert_eq!(ending.status(), St::EgressEnding);
    assert_eq!(ending.details, "End reason: StopEgress API");
    let done = wait_status(&s, &id, St::EgressComplete).await;
    assert!(done.ended_at >= done.started_at && done.ended_at > 1_000_000_000_000_000_000);
    let fr = &done.file_results[0];
    assert_eq!(fr.filename, "recordings/standup.mp4");
    assert_eq!(
        fr.location,
        "https://rec.s3.amazonaws.com/recordings/standup.mp4"
    );
    assert_eq!(
        (fr.started_at, fr.ended_at, fr.duration),
        (
            done.started_at,
            done.ended_at,
            done.ended_at - done.started_at
        )
    );
    assert!(fr.size > 0);
    assert!(
        done.stream_results
            .iter()
            .all(|r| r.status() == proto::stream_info::Status::Finished)
    );
    assert!(
        done.result.is_none(),
        "two kinds of output: no deprecated single result"
    );
    assert!(
        client
            .list_egress(EgressListOptions {
                active: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty()
    );

    // Finished: nothing to stop or update any more.
    let err = s
        .json(
            "Egress",
            "StopEgress",
            Some(&rec),
            &json!({"egress_id": id}),
        )
        .await;
    assert_eq!(
        err,
        (
            412,
            twirp(
                "failed_precondition",
                "egress with status EGRESS_COMPLETE cannot be stopped"
            )
        )
    );
    let err = s
        .json(
            "Egress",
            "UpdateStream",
            Some(&rec),
            &json!({"egress_id": id, "add_output_urls": ["rtmp://a/b/c"]}),
        )
        .await;
    assert_eq!(
        err,
        (
            412,
            twirp(
                "failed_precondition",
                "egress with status EGRESS_COMPLETE cannot be updated"
            )
        )
    );
    let err = s
        .json(
            "Egress",
            "UpdateLayout",
            Some(&rec),
            &json!({"egress_id": id, "layout": "grid"}),
        )
        .await;
    assert_eq!(err, (404, twirp("not_found", "participant does not exist")));

    let events = s.hooks_until("egress_ended").await;
    let egress_events: Vec<(String, St)> = events
        .iter()
        .filter(|e| e.event.starts_with("egress_"))
        .map(|e| (e.event.clone(), e.egress_info.as_ref().unwrap().status()))
        .collect();
    assert_eq!(
        egress_events,
        [
            ("egress_started".to_string(), St::EgressStarting),
            ("egress_updated".to_string(), St::EgressActive),
            ("egress_updated".to_string(), St::EgressEnding),
            ("egress_ended".to_string(), St::EgressComplete),
        ]
    );
    let last = events.last().unwrap();
    let room = last.room.as_ref().unwrap();
    assert_eq!(
        (room.name.as_str(), room.sid.as_str(), room.creation_time),
        ("standup", done.room_id.as_str(), 0)
    );
    assert_eq!(
        last.egress_info.as_ref().unwrap().file_results,
        done.file_results
    );
}

#[tokio::test]
async fn unwritable_output_fails_with_an_error() {
    let mut s = side(
        true,
        Options {
            unwritable_prefix: Some("/readonly/".into()),
            ..fast()
        },
        "",
    )
    .await;
    s.standin.join("standup", "alice", "Alice", &[]);
    let info: proto::EgressInfo = s
        .pb(
            "Egress",
            "StartRoomCompositeEgress",
            Some(&recorder()),
            &composite("standup", "/readonly/x.mp4"),
        )
        .await
        .unwrap();
    let failed = wait_status(&s, &info.egress_id, St::EgressFailed).await;
    assert_eq!(failed.error, "open /readonly/x.mp4: permission denied");
    assert_eq!(failed.error_code, 500);
    assert_eq!(failed.details, "End reason: Failure");
    assert!(failed.ended_at > 0 && failed.file_results.is_empty());
    let names: Vec<String> = s
        .hooks_until("egress_ended")
        .await
        .into_iter()
        .map(|e| e.event)
        .filter(|e| e.starts_with("egress"))
        .collect();
    assert_eq!(names, ["egress_started", "egress_ended"]);
}

#[tokio::test]
async fn a_closed_source_ends_the_egress_and_the_store_forgets_it() {
    let opts = Options {
        egress_duration: Some(Duration::from_millis(300)),
        egress_retention: Duration::from_secs(2),
        ..fast()
    };
    let s = side(true, opts, "").await;
    s.standin.join("standup", "alice", "Alice", &[]);
    let rec = recorder();
    let info: proto::EgressInfo = s
        .pb(
            "Egress",
            "StartRoomCompositeEgress",
            Some(&rec),
            &composite("standup", "solo"),
        )
        .await
        .unwrap();
    let done = wait_status(&s, &info.egress_id, St::EgressComplete).await;
    assert_eq!(done.details, "End reason: Source closed");
    // One file output: the deprecated `result` carries it too.
    #[allow(deprecated)]
    let Some(proto::egress_info::Result::File(f)) = &done.result else {
        panic!("{done:?}")
    };
    assert_eq!(f, &done.file_results[0]);
    assert_eq!(f.filename, "solo.mp4");
    assert_eq!(
        f.location, "solo.mp4",
        "no upload: a file on the egress host"
    );
    // Past the retention, ListEgress no longer knows it.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let (st, body) = s
        .json(
            "Egress",
            "ListEgress",
            Some(&rec),
            &json!({"egress_id": info.egress_id}),
        )
        .await;
    assert_eq!(
        (st, body),
        (404, twirp("not_found", "egress does not exist"))
    );
    let (st, body) = s.json("Egress", "ListEgress", Some(&rec), &json!({})).await;
    assert_eq!((st, body), (200, json!({})));
}
