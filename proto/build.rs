//! Compiles `court/v1/*.proto` with the protoc binary vendored by `protoc-bin-vendored`,
//! so no system protobuf compiler is needed.
use std::path::PathBuf;

/// The messages whose `Debug` is written by hand, without the secret.
const SECRET_MESSAGES: [&str; 5] = [
    "LoginRequest",
    "LoginResponse",
    "RedeemInviteRequest",
    "RedeemInviteResponse",
    "InviteParticipantResponse",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["auth", "case", "common", "hearing", "media", "record"]
        .map(|name| PathBuf::from(format!("court/v1/{name}.proto")));
    for p in &protos {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    // Messages that carry a password, a bearer token or an invitation code get a `Debug` that
    // redacts it (src/lib.rs), so no log line or panic message prints one.
    config.skip_debug(SECRET_MESSAGES.map(|m| format!(".court.v1.{m}")));
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("court_descriptor.bin"))
        .compile_with_config(
            config,
            &protos,
            &[PathBuf::from("."), protoc_bin_vendored::include_path()?],
        )?;
    Ok(())
}
