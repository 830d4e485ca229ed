use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn admin_of_room_a_is_refused_on_room_b() {
    let app = spawn().await;
    app.standin.join("a", "alice", "Alice", &[]);
    app.standin.join("b", "bob", "Bob", &[]);
    let (s, body) = app
        .call_json("ListParticipants", Some(&admin("a")), &json!({"room": "b"}))
        .await;
    assert_eq!(s, 401);
    assert_eq!(
        parse(&body),
        json!({"code": "unauthenticated", "msg": "permissions denied"})
    );
    let (s, _) = app
        .call_json("ListParticipants", Some(&admin("a")), &json!({"room": "a"}))
        .await;
    assert_eq!(s, 200);
}
