//! s3-broker: a stateless service and CLI that hands out SigV4-signed S3 grants.
//!
//! The crate is layered: [`domain`] holds validated newtypes, [`sigv4`] is the pure signing
//! core (no I/O, no clock, no environment), and [`cli`] is the offline command line on top.

pub mod app;
pub mod auth;
pub mod backend;
pub mod cli;
pub mod config;
pub mod dev;
pub mod domain;
pub mod grants;
pub mod http;
pub mod limits;
pub mod multipart;
pub mod policy;
pub mod receipt;
pub mod revocation;
pub mod s3;
pub mod sigv4;
pub mod sniff;
pub mod telemetry;
