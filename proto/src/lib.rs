//! The `court.v1` contract: generated message types, clients and servers.
//!
//! The `.proto` files under `proto/court/v1` are the one contract for the server, the CLI, bots
//! and the browser; other languages generate their clients from the same files.

#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod court {
    pub mod v1 {
        tonic::include_proto!("court.v1");
    }
}

pub use court::v1;

/// The encoded `FileDescriptorSet` for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("court_descriptor");

/// `Debug` for the messages that carry a secret (a password, a bearer token, an invitation
/// code): every field but the secret, which shows as `"<redacted>"` (or `""` when empty, so an
/// empty field stays visible in a failing test's output).
mod redacted {
    use std::fmt;

    use super::v1::*;

    fn secret(s: &str) -> &'static str {
        if s.is_empty() {
            ""
        } else {
            "<redacted>"
        }
    }

    impl fmt::Debug for LoginRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("LoginRequest")
                .field("username", &self.username)
                .field("password", &secret(&self.password))
                .finish()
        }
    }

    impl fmt::Debug for LoginResponse {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("LoginResponse")
                .field("token", &secret(&self.token))
                .field("user", &self.user)
                .field("expires_at", &self.expires_at)
                .finish()
        }
    }

    impl fmt::Debug for RedeemInviteRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("RedeemInviteRequest")
                .field("code", &secret(&self.code))
                .finish()
        }
    }

    impl fmt::Debug for RedeemInviteResponse {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("RedeemInviteResponse")
                .field("token", &secret(&self.token))
                .field("participant", &self.participant)
                .field("expires_at", &self.expires_at)
                .finish()
        }
    }

    impl fmt::Debug for InviteParticipantResponse {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("InviteParticipantResponse")
                .field("participant", &self.participant)
                .field("code", &secret(&self.code))
                .finish()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn debug_output_never_shows_a_secret() {
            let shown = [
                format!(
                    "{:?}",
                    LoginRequest {
                        username: "judge.wang".into(),
                        password: "hunter2-correct-horse".into(),
                    }
                ),
                format!(
                    "{:?}",
                    LoginResponse {
                        token: "oct_0123456789abcdef".into(),
                        ..Default::default()
                    }
                ),
                format!(
                    "{:?}",
                    RedeemInviteRequest {
                        code: "a1b2c-3d4e5".into(),
                    }
                ),
                format!(
                    "{:?}",
                    RedeemInviteResponse {
                        token: "oct_0123456789abcdef".into(),
                        ..Default::default()
                    }
                ),
                format!(
                    "{:?}",
                    InviteParticipantResponse {
                        participant: None,
                        code: "a1b2c-3d4e5".into(),
                    }
                ),
            ];
            for s in &shown {
                for secret in ["hunter2", "oct_0123", "a1b2c"] {
                    assert!(!s.contains(secret), "{s} shows {secret}");
                }
                assert!(s.contains("<redacted>"), "{s}");
            }
            assert!(shown[0].contains("judge.wang"), "{}", shown[0]);
        }
    }
}
