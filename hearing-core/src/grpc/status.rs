//! CoreError → gRPC status: the one mapping. Internal and database detail is logged, never sent.
use tonic::{Code, Status};

use crate::error::CoreError;

pub fn to_status(e: CoreError) -> Status {
    let code = match &e {
        CoreError::InvalidArgument { .. } => Code::InvalidArgument,
        CoreError::NotFound(_) => Code::NotFound,
        CoreError::AlreadyExists(_) => Code::AlreadyExists,
        CoreError::FailedPrecondition(_) => Code::FailedPrecondition,
        CoreError::PermissionDenied(_) => Code::PermissionDenied,
        CoreError::Unauthenticated(_) => Code::Unauthenticated,
        CoreError::Unavailable(_) => Code::Unavailable,
        CoreError::Database(sqlx::Error::PoolTimedOut) => Code::Unavailable,
        CoreError::Database(_) | CoreError::Internal(_) => {
            tracing::error!(error = %e, "internal error");
            return Status::internal("internal error");
        }
    };
    Status::new(code, e.to_string())
}

impl From<CoreError> for Status {
    fn from(e: CoreError) -> Self {
        to_status(e)
    }
}
