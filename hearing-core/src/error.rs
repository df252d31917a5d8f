//! The one error type of hearing-core, and the one table of codes it is reported under: the
//! gRPC status (`grpc::to_status`) and the HTTP status (media downloads) both derive from
//! `CoreError::code()`, as quickwit derives both from its `ServiceErrorCode`. Storage and internal
//! detail is logged, never sent to clients (`CoreError::client_message`).

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{field}: {message}")]
    InvalidArgument {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    Unauthenticated(String),
    /// The node cannot serve the call now (it is shutting down); the client may retry.
    #[error("{0}")]
    Unavailable(String),
    /// The caller hit one of the operator's limits (`app::Limits`); the message names it and
    /// says when to retry.
    #[error("{0}")]
    ResourceExhausted(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal: {0}")]
    Internal(String),
}

impl CoreError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        CoreError::InvalidArgument {
            field,
            message: message.into(),
        }
    }
}

/// What kind of failure an error is, as a client sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidArgument,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
    ResourceExhausted,
    Internal,
}

impl ErrorCode {
    pub fn grpc(self) -> tonic::Code {
        use tonic::Code;
        match self {
            ErrorCode::InvalidArgument => Code::InvalidArgument,
            ErrorCode::NotFound => Code::NotFound,
            ErrorCode::AlreadyExists => Code::AlreadyExists,
            ErrorCode::FailedPrecondition => Code::FailedPrecondition,
            ErrorCode::PermissionDenied => Code::PermissionDenied,
            ErrorCode::Unauthenticated => Code::Unauthenticated,
            ErrorCode::Unavailable => Code::Unavailable,
            ErrorCode::ResourceExhausted => Code::ResourceExhausted,
            ErrorCode::Internal => Code::Internal,
        }
    }

    /// The HTTP status, as `google.rpc.Code` maps each gRPC code to one.
    pub fn http(self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            ErrorCode::InvalidArgument | ErrorCode::FailedPrecondition => StatusCode::BAD_REQUEST,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::AlreadyExists => StatusCode::CONFLICT,
            ErrorCode::PermissionDenied => StatusCode::FORBIDDEN,
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl CoreError {
    pub fn code(&self) -> ErrorCode {
        match self {
            CoreError::InvalidArgument { .. } => ErrorCode::InvalidArgument,
            CoreError::NotFound(_) => ErrorCode::NotFound,
            CoreError::AlreadyExists(_) => ErrorCode::AlreadyExists,
            CoreError::FailedPrecondition(_) => ErrorCode::FailedPrecondition,
            CoreError::PermissionDenied(_) => ErrorCode::PermissionDenied,
            CoreError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            CoreError::Unavailable(_) => ErrorCode::Unavailable,
            CoreError::ResourceExhausted(_) => ErrorCode::ResourceExhausted,
            // every connection busy: the client may retry
            CoreError::Database(sqlx::Error::PoolTimedOut) => ErrorCode::Unavailable,
            CoreError::Database(_) | CoreError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// What the client is told. Database and internal errors are logged here and reach the
    /// client as a generic message only.
    pub fn client_message(&self) -> String {
        match self {
            CoreError::Database(sqlx::Error::PoolTimedOut) => {
                tracing::warn!(error = %self, "database busy");
                "the server is busy: try again".into()
            }
            CoreError::Database(_) | CoreError::Internal(_) => {
                tracing::error!(error = %self, "internal error");
                "internal error".into()
            }
            _ => self.to_string(),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for CoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        CoreError::Internal(format!("migration failed: {e}"))
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;
