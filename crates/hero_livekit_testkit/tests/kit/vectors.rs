use std::process::Command;

use hero_livekit_testkit::{python, vectors, workspace_root};

/// The committed vectors are exactly what the script makes from LiveKit's packages (the Node
/// token, which needs npm, is taken as committed).
#[test]
fn the_vectors_are_what_make_test_vectors_makes() {
    let out = Command::new(python::python())
        .arg(workspace_root().join("scripts/make-test-vectors"))
        .args(["--check", "--keep-node-token"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_webhook_case_names_a_body_that_exists() {
    let index = vectors::json("webhooks/index.json");
    let cases = index["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 14);
    for case in cases {
        assert!(!vectors::read(case["body_file"].as_str().unwrap()).is_empty());
    }
    assert_eq!(
        vectors::json("tokens.json")["keys"]
            .as_object()
            .unwrap()
            .len(),
        2
    );
}
