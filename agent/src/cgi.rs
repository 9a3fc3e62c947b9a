//! CGI (RFC 3875): the request arrives in the environment, not on a socket.
//!
//! A CGI program — and every program it runs, since children inherit the environment — gets
//! the request line and headers as variables (`REQUEST_METHOD`, `QUERY_STRING`, `HTTP_*`…) and
//! the body on stdin. At start we rebuild the HTTP request head from those variables and treat
//! stdin as its connection: a body read from stdin completes the request, and every sink in
//! the process is correlated with it. So a shell script behind a web server that runs
//! `psql -c "… '$title'"` is judged by the same detectors as an in-process query.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};

use policy::Engine;
use policy::engine::RequestContext;

use crate::capture::{self, Correlated};
use crate::fdtable::{self, FdKind};

/// The request a CGI program was started for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgiRequest {
    /// The rebuilt request line and headers, ending with the blank line.
    pub(crate) head: Vec<u8>,
    /// `REMOTE_ADDR`/`REMOTE_PORT`.
    pub(crate) peer: Option<SocketAddr>,
}

static REQUEST: OnceLock<CgiRequest> = OnceLock::new();
static PARSED: OnceLock<Arc<RequestContext>> = OnceLock::new();

/// Rebuilds the request from CGI variables; `None` unless `GATEWAY_INTERFACE` says CGI.
pub(crate) fn from_env(vars: &[(String, String)]) -> Option<CgiRequest> {
    let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if !get("GATEWAY_INTERFACE").is_some_and(|g| g.starts_with("CGI/")) {
        return None;
    }
    let method = get("REQUEST_METHOD").unwrap_or("GET");
    let mut target = format!(
        "{}{}",
        get("SCRIPT_NAME").unwrap_or(""),
        get("PATH_INFO").unwrap_or("")
    );
    if target.is_empty() {
        target.push('/');
    }
    if let Some(q) = get("QUERY_STRING").filter(|q| !q.is_empty()) {
        target.push('?');
        target.push_str(q);
    }
    // Request targets cannot hold raw spaces or line breaks; keep the line parseable.
    let target: String = target
        .chars()
        .map(|c| if c.is_whitespace() { '+' } else { c })
        .collect();
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    for (name, value) in vars {
        let header = match name.as_str() {
            "CONTENT_TYPE" => "Content-Type".to_owned(),
            "CONTENT_LENGTH" => "Content-Length".to_owned(),
            n => match n.strip_prefix("HTTP_") {
                Some(h) => header_name(h),
                None => continue,
            },
        };
        let value: String = value.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        head.push_str(&format!("{header}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let peer = get("REMOTE_ADDR")
        .and_then(|a| a.parse::<IpAddr>().ok())
        .map(|ip| {
            SocketAddr::new(
                ip,
                get("REMOTE_PORT").and_then(|p| p.parse().ok()).unwrap_or(0),
            )
        });
    Some(CgiRequest {
        head: head.into_bytes(),
        peer,
    })
}

/// `HTTP_USER_AGENT` → `User-Agent`.
fn header_name(var: &str) -> String {
    var.split('_')
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut c = lower.chars();
            c.next().map_or_else(String::new, |f| {
                f.to_ascii_uppercase().to_string() + c.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Makes `req` this process's request: stdin becomes its connection (the body, if any, is read
/// from it).
pub(crate) fn adopt(req: CgiRequest) {
    fdtable::set(0, FdKind::Inbound);
    capture::prefill(0, &req.head, req.peer);
    let _ = REQUEST.set(req);
}

/// The CGI request's context, parsed once; `None` outside CGI.
pub(crate) fn correlated(engine: &Engine) -> Option<Correlated> {
    let req = REQUEST.get()?;
    let ctx = PARSED.get_or_init(|| Arc::new(engine.context(&req.head)));
    Some(Correlated {
        fd: -1,
        peer: req.peer,
        ctx: Arc::clone(ctx),
    })
}
