//! CoreError → gRPC status, through the one code table (`CoreError::code`). Internal and
//! database detail is logged, never sent.
use tonic::Status;

use crate::error::CoreError;

pub fn to_status(e: CoreError) -> Status {
    Status::new(e.code().grpc(), e.client_message())
}

impl From<CoreError> for Status {
    fn from(e: CoreError) -> Self {
        to_status(e)
    }
}
