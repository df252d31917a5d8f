//! OpenCourt domain, storage and services.
