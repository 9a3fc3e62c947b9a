//! Syslog output (RFC 5424), carrying the event line as the message: over the local socket
//! (`unix:/dev/log`, datagrams), UDP (one datagram per event) or TCP (RFC 6587 octet-counted
//! framing, reconnected on failure). Used from the writer thread and for synchronous exec
//! events; a collector that is down costs a failed send, counted, never a wait on the
//! application's threads.

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use policy::config::SyslogTarget;

use crate::event::{self, Record};
use crate::{lifecycle, settings, stats};

/// Facility 13, "log audit": security events, kept apart from application logs.
const FACILITY: u8 = 13;

/// Longest wait for a TCP collector to accept a connection or a write.
const TCP_TIMEOUT: Duration = Duration::from_millis(500);

/// A syslog destination with its (lazily opened) socket.
pub(crate) struct Syslog {
    target: SyslogTarget,
    tcp: Option<TcpStream>,
}

impl Syslog {
    /// A sender for `target`; nothing is opened until the first event.
    pub(crate) fn new(target: &SyslogTarget) -> Self {
        Self {
            target: target.clone(),
            tcp: None,
        }
    }

    /// Sends one event; failures are counted, never retried in a loop.
    pub(crate) fn send(&mut self, record: &Record) {
        let msg = format_5424(record);
        let ok = match &self.target {
            SyslogTarget::Unix(path) => UnixDatagram::unbound()
                .and_then(|s| s.send_to(msg.as_bytes(), path))
                .is_ok(),
            SyslogTarget::Udp { host, port } => UdpSocket::bind(("0.0.0.0", 0))
                .and_then(|s| s.send_to(msg.as_bytes(), (host.as_str(), *port)))
                .is_ok(),
            SyslogTarget::Tcp { host, port } => {
                let framed = format!("{} {msg}", msg.len());
                let mut sent = self
                    .tcp
                    .as_mut()
                    .is_some_and(|s| s.write_all(framed.as_bytes()).is_ok());
                if !sent {
                    self.tcp = connect(host, *port);
                    sent = self
                        .tcp
                        .as_mut()
                        .is_some_and(|s| s.write_all(framed.as_bytes()).is_ok());
                }
                sent
            }
        };
        if !ok {
            stats::LOG_WRITE_ERRORS.bump();
        }
    }
}

fn connect(host: &str, port: u16) -> Option<TcpStream> {
    let addr = (host, port).to_socket_addrs().ok()?.next()?;
    let s = TcpStream::connect_timeout(&addr, TCP_TIMEOUT).ok()?;
    s.set_write_timeout(Some(TCP_TIMEOUT)).ok()?;
    Some(s)
}

/// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG`.
fn format_5424(record: &Record) -> String {
    let host = settings::info().map_or("-", |i| {
        if i.hostname.is_empty() {
            "-"
        } else {
            i.hostname.as_str()
        }
    });
    format!(
        "<{}>1 {} {host} librasp {} event - {}",
        u16::from(FACILITY) * 8 + u16::from(record.severity),
        event::timestamp(),
        lifecycle::pid(),
        record.text
    )
}
