//! SSRF (placeholder).

use std::net::IpAddr;

use crate::config::SsrfSettings;
use crate::finding::Finding;
use crate::input::Input;

/// Checks a connect against the request's inputs.
pub fn check(
    _addr: IpAddr,
    _port: u16,
    _host: Option<&str>,
    _inputs: &[&Input],
    _cfg: &SsrfSettings,
) -> Option<Finding> {
    None
}

/// Cloud metadata addresses, reported without an input.
pub fn check_metadata(
    _addr: IpAddr,
    _port: u16,
    _host: Option<&str>,
    _cfg: &SsrfSettings,
) -> Option<Finding> {
    None
}
