//! Waiting before trying again, with jitter, so many clients (or one client's many sessions)
//! do not retry in step.

use std::time::Duration;

/// `base` and up to `spread` more, chosen by the clock's nanoseconds: random enough to spread
/// retries, without a source of randomness to fail.
pub fn jittered(base: Duration, spread: Duration) -> Duration {
    let nanos = u64::from(jiff::Timestamp::now().subsec_nanosecond().unsigned_abs());
    let spread_ms = u64::try_from(spread.as_millis()).unwrap_or(u64::MAX).max(1);
    base + Duration::from_millis(nanos % spread_ms)
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
