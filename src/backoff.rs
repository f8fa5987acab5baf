//! Waiting before trying again, with jitter, so many clients (or one client's many sessions)
//! do not retry in step.

use std::time::Duration;

/// `base` and up to `spread` more, chosen at random. Without a source of randomness (it does
/// not fail on Linux), the wait is `base` and half the spread: still bounded, only in step.
pub fn jittered(base: Duration, spread: Duration) -> Duration {
    let spread_ms = u64::try_from(spread.as_millis()).unwrap_or(u64::MAX).max(1);
    let mut random = [0u8; 8];
    let draw = match getrandom::getrandom(&mut random) {
        Ok(()) => u64::from_le_bytes(random),
        Err(_) => spread_ms / 2,
    };
    base + Duration::from_millis(draw % spread_ms)
}

#[cfg(test)]
mod tests {
    use super::jittered;
    use std::time::Duration;

    #[test]
    fn the_wait_stays_within_its_spread() {
        let base = Duration::from_secs(2);
        for _ in 0..100 {
            let wait = jittered(base, base / 4);
            assert!(wait >= base && wait < base + base / 4, "{wait:?}");
        }
    }
}
