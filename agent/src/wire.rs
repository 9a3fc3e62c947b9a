//! Database drivers that speak the wire protocol themselves (PHP mysqlnd, PyMySQL, pg8000,
//! node-postgres, JDBC, statically linked clients such as the `mariadb` shell) never call a
//! client library: their SQL is read from the bytes the process writes to its outbound
//! connections, with the policy crate's PostgreSQL/MySQL recognisers ([`policy::wire`]).
//!
//! Every outbound connection gets a small recogniser at `connect`. Its first bytes (and, for
//! MySQL, whose server speaks first, the greeting it reads) classify it; once it is known not
//! to be a database its fd kind becomes [`FdKind::OutboundOther`] and later writes cost one
//! table lookup. SQL found in a write is checked before the write happens; a refused statement
//! fails the write with EACCES, so the driver raises its normal I/O error (the connection is
//! then lost — the driver cannot be asked to fail one statement). TLS-encrypted database
//! connections are opaque and not inspected.

use std::sync::atomic::{AtomicPtr, Ordering};

use policy::Sink;
use policy::wire::{Protocol, SqlMessage, WireState};

use crate::fdtable::{self, FdKind, MAX_FDS};
use crate::sinks::{self, Delivery, Verdict};
use crate::trylock::TryLock;

/// One outbound connection's recogniser.
type Slot = TryLock<WireState>;

static SLOTS: [AtomicPtr<Slot>; MAX_FDS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; MAX_FDS];

fn slot(fd: i32) -> Option<&'static Slot> {
    let cell = usize::try_from(fd).ok().and_then(|i| SLOTS.get(i))?;
    // SAFETY: non-null pointers come from `Box::into_raw` below and are never freed.
    if let Some(s) = unsafe { cell.load(Ordering::Acquire).as_ref() } {
        return Some(s);
    }
    let fresh = Box::into_raw(Box::new(Slot::new(WireState::new())));
    match cell.compare_exchange(
        std::ptr::null_mut(),
        fresh,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        // SAFETY: installed just now, never freed.
        Ok(_) => Some(unsafe { &*fresh }),
        Err(winner) => {
            // SAFETY: `fresh` was never shared; `winner` is a live slot.
            unsafe {
                drop(Box::from_raw(fresh));
                winner.as_ref()
            }
        }
    }
}

/// `fd` was just connected: start recognising its traffic afresh.
pub(crate) fn connected(fd: i32) {
    if let Some(s) = slot(fd) {
        s.with(|st| *st = WireState::new());
    }
}

/// The process is about to send `bytes` on outbound `fd`: `Verdict::Block` when a statement
/// in them must be refused. Decided on a copy of the recogniser, because the kernel may take
/// only part of the write and the application then sends the rest again; [`sent`] advances
/// the real one by what was actually written.
pub(crate) fn before_send(fd: i32, bytes: &[u8]) -> Verdict {
    let Some(s) = slot(fd) else {
        return Verdict::Allow;
    };
    let Some(messages) = s.with(|st| {
        let mut probe = st.clone();
        probe.on_send(bytes)
    }) else {
        return Verdict::Allow;
    };
    let mut verdict = Verdict::Allow;
    for m in &messages {
        let sink = Sink::Sql {
            function: function_name(m),
            dialect: m.dialect(),
            query: &m.sql,
        };
        if sinks::check(&sink, Delivery::Queued) == Verdict::Block {
            verdict = Verdict::Block;
        }
    }
    verdict
}

/// `bytes` were written to outbound `fd`.
pub(crate) fn sent(fd: i32, bytes: &[u8]) {
    let Some(s) = slot(fd) else { return };
    let settled = s.with(|st| {
        st.on_send(bytes);
        st.is_settled_not_database()
    });
    if settled == Some(true) {
        fdtable::set(fd, FdKind::OutboundOther);
    }
}

/// The process received `bytes` on outbound `fd` (only needed until it is classified).
pub(crate) fn on_recv(fd: i32, bytes: &[u8]) {
    let Some(s) = slot(fd) else { return };
    let settled = s.with(|st| {
        if st.protocol() == Protocol::Unknown {
            st.on_recv(bytes);
        }
        st.is_settled_not_database()
    });
    if settled == Some(true) {
        fdtable::set(fd, FdKind::OutboundOther);
    }
}

/// The sink function named in events: the protocol message that carried the SQL.
fn function_name(m: &SqlMessage) -> &'static str {
    match (m.protocol, m.kind) {
        (Protocol::Postgres, "Parse") => "postgres-wire:Parse",
        (Protocol::Postgres, _) => "postgres-wire:Query",
        (_, "COM_STMT_PREPARE") => "mysql-wire:COM_STMT_PREPARE",
        _ => "mysql-wire:COM_QUERY",
    }
}
