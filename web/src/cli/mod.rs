//! The command-line clients: one module per subcommand.
pub mod bench;
pub mod bot;
pub mod demo;
pub mod hearing;
pub mod loadtest;

/// `msg` as a request carrying `authorization: Bearer <token>`: the one way every client here
/// (and the tests) presents a session token. Fails only for a token that is not ASCII.
pub fn authed<T>(
    token: &str,
    msg: T,
) -> Result<tonic::Request<T>, tonic::metadata::errors::InvalidMetadataValue> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    Ok(r)
}
