//! How a blocked call is refused: the `response` and `errno` keys of detectors and rules.
//!
//! The policy names a [`ResponseKind`] (plus an [`Errno`] for `deny`); the engine resolves them
//! into the [`Response`] of a [`Decision`](crate::Decision), which the agent applies only when
//! the decision's action is `block`. When each response is safe:
//!
//! * `deny` (default) — the call fails with `errno` (default `EACCES`), exactly as if the
//!   kernel or library had refused it. Always safe: applications already handle failing calls.
//! * `drop-connection` — the inbound connection that carried the request is shut down. The
//!   attacker receives nothing; the application may log a broken pipe when it writes its reply.
//! * `respond-403` — a minimal `HTTP/1.1 403` is written to the inbound connection, which is
//!   then closed. Only for HTTP/1.x connections on which no response byte was written yet; the
//!   agent falls back to `drop-connection` otherwise.
//! * `kill` — the process is terminated. A last resort: every in-flight request of every user
//!   is lost, and a supervisor must restart the service.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The response named in a policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResponseKind {
    /// Fail the call with an errno.
    #[default]
    Deny,
    /// Shut down the inbound connection of the request.
    DropConnection,
    /// Answer `403 Forbidden` on the inbound connection, then close it.
    #[serde(rename = "respond-403")]
    Respond403,
    /// Terminate the process.
    Kill,
}

/// What the agent does to refuse a blocked call (see the module docs for when each is safe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Response {
    /// Fail the call, setting `errno`.
    Deny {
        /// The errno value the call fails with.
        errno: i32,
    },
    /// Shut down the inbound connection.
    DropConnection,
    /// Write `403 Forbidden` to the inbound connection and close it.
    #[serde(rename = "respond-403")]
    Respond403,
    /// Terminate the process.
    Kill,
}

impl Default for Response {
    /// `Deny` with `EACCES`.
    fn default() -> Self {
        Response::Deny {
            errno: Errno::EACCES.0,
        }
    }
}

impl Response {
    /// Resolves a policy's `response` and `errno` (the errno defaults to `EACCES` and only
    /// matters for `deny`).
    pub fn resolve(kind: Option<ResponseKind>, errno: Option<Errno>) -> Self {
        match kind.unwrap_or_default() {
            ResponseKind::Deny => Response::Deny {
                errno: errno.unwrap_or(Errno::EACCES).0,
            },
            ResponseKind::DropConnection => Response::DropConnection,
            ResponseKind::Respond403 => Response::Respond403,
            ResponseKind::Kill => Response::Kill,
        }
    }
}

impl fmt::Display for Response {
    /// `deny (errno 13 EACCES)`, `drop-connection`, `respond-403`, `kill`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Response::Deny { errno } => match Errno(*errno).name() {
                Some(name) => write!(f, "deny (errno {errno} {name})"),
                None => write!(f, "deny (errno {errno})"),
            },
            Response::DropConnection => f.write_str("drop-connection"),
            Response::Respond403 => f.write_str("respond-403"),
            Response::Kill => f.write_str("kill"),
        }
    }
}

/// A Linux errno value; in a policy either a number (1–4095) or a name such as `"EPERM"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

/// Names accepted in policies (Linux values, all architectures librasp supports).
const ERRNO_NAMES: &[(&str, i32)] = &[
    ("EPERM", 1),
    ("ENOENT", 2),
    ("EIO", 5),
    ("ENOEXEC", 8),
    ("EAGAIN", 11),
    ("ENOMEM", 12),
    ("EACCES", 13),
    ("EBUSY", 16),
    ("EINVAL", 22),
    ("EROFS", 30),
    ("ENOSYS", 38),
    ("EOPNOTSUPP", 95),
    ("ENETUNREACH", 101),
    ("ECONNABORTED", 103),
    ("ECONNRESET", 104),
    ("ETIMEDOUT", 110),
    ("ECONNREFUSED", 111),
    ("EHOSTUNREACH", 113),
];

impl Errno {
    /// Permission denied, the default of `deny`.
    pub const EACCES: Errno = Errno(13);

    /// Parses a name (`"EPERM"`, case-insensitive) or a decimal number in 1..=4095.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Ok(n) = text.parse::<i32>() {
            return (1..=4095).contains(&n).then_some(Errno(n));
        }
        ERRNO_NAMES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text))
            .map(|&(_, n)| Errno(n))
    }

    /// The symbolic name, when it is one of the names policies accept.
    pub fn name(self) -> Option<&'static str> {
        ERRNO_NAMES
            .iter()
            .find(|&&(_, n)| n == self.0)
            .map(|&(name, _)| name)
    }
}

impl Serialize for Errno {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.name() {
            Some(name) => s.serialize_str(name),
            None => s.serialize_i32(self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Errno {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(i64),
            Name(String),
        }
        let names = || {
            ERRNO_NAMES
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match Raw::deserialize(d)? {
            Raw::Number(n) => i32::try_from(n)
                .ok()
                .filter(|n| (1..=4095).contains(n))
                .map(Errno)
                .ok_or_else(|| serde::de::Error::custom(format!("errno {n} is not in 1..=4095"))),
            Raw::Name(name) => Errno::parse(&name).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown errno `{name}`; use a number or one of {}",
                    names()
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names_and_numbers() {
        assert_eq!(Errno::parse("EPERM"), Some(Errno(1)));
        assert_eq!(Errno::parse("eacces"), Some(Errno(13)));
        assert_eq!(Errno::parse("111"), Some(Errno(111)));
        assert_eq!(Errno::parse("0"), None);
        assert_eq!(Errno::parse("EWHATEVER"), None);
        assert_eq!(Errno(13).name(), Some("EACCES"));
    }

    #[test]
    fn resolve_defaults_to_eacces() {
        assert_eq!(Response::resolve(None, None), Response::Deny { errno: 13 });
        assert_eq!(
            Response::resolve(Some(ResponseKind::Deny), Some(Errno(1))),
            Response::Deny { errno: 1 }
        );
        assert_eq!(
            Response::resolve(Some(ResponseKind::Kill), Some(Errno(1))),
            Response::Kill
        );
        assert_eq!(Response::default().to_string(), "deny (errno 13 EACCES)");
    }
}
