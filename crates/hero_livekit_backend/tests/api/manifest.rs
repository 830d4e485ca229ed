use hero_livekit_api::paths::BACKEND_PORT;

/// service.toml, the code's constant and the default PORT the server renders must agree.
#[test]
fn service_toml_declares_the_backend_port_constant() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/service.toml")).unwrap();
    let manifest: toml::Value = toml::from_str(&text).unwrap();
    assert_eq!(manifest["service"]["name"].as_str(), Some("lk-backend"));
    let binaries = manifest["binaries"].as_array().unwrap();
    let bin = binaries
        .iter()
        .find(|b| b["name"].as_str() == Some("lk-backend"))
        .unwrap();
    let ports: Vec<i64> = bin["tcp"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["port"].as_integer().unwrap())
        .collect();
    assert_eq!(ports, vec![i64::from(BACKEND_PORT)]);
    let dep = &manifest["dependencies"].as_array().unwrap()[0];
    assert_eq!(
        dep["socket"].as_str(),
        Some(hero_livekit_api::paths::SERVER_SOCKET_REL)
    );
    assert_eq!(BACKEND_PORT, 8081);
}
