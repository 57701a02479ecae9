//! Free TCP ports on 127.0.0.1 for the servers of the test bed.

use std::net::{Ipv4Addr, TcpListener};
use std::time::{SystemTime, UNIX_EPOCH};

/// A port nobody listens on right now (the kernel's pick).
pub(crate) fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))
}

/// A base port `P` such that `P + offset` is free for every given offset.
///
/// Bases are drawn below Linux's ephemeral range (32768..), so outgoing connections do not
/// take the ports between this check and the moment the daemons bind them.
pub(crate) fn free_port_block(offsets: &[u16]) -> Result<u16, String> {
    let span = offsets.iter().copied().max().unwrap_or(0);
    let mut seed = u64::from(std::process::id())
        ^ SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
    for _ in 0..200 {
        // xorshift: good enough to spread concurrent test processes over the range.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let base = 10_000 + (seed % u64::from(32_000 - 10_000 - span)) as u16;
        let all_free = offsets
            .iter()
            .all(|o| TcpListener::bind((Ipv4Addr::LOCALHOST, base + o)).is_ok());
        if all_free {
            return Ok(base);
        }
    }
    Err(format!(
        "no block of free ports (offsets {offsets:?}) found on 127.0.0.1"
    ))
}
