//! Where patdesk's time comes from. The daemon and the CLI hold the system's clock; a test
//! holds a [`ManualClock`] that stands still until the test moves it. Everything that reads
//! the time, or stores one, is handed a [`Clock`] the way it is handed the database, so no
//! behaviour depends on the date a test happens to run.
//!
//! This is the one place that reads the wall clock: clippy's `disallowed-methods`
//! (`clippy.toml`) refuses `Timestamp::now` and `SystemTime::now` everywhere else.

use std::sync::{Arc, Mutex, PoisonError};

use jiff::{SignedDuration, Timestamp};

/// A source of the current time, cheap to clone and to share between tasks.
#[derive(Debug, Clone)]
pub struct Clock {
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
    /// The operating system's clock.
    System,
    /// A time a test set, shared with the [`ManualClock`] that moves it.
    Manual(Arc<Mutex<Timestamp>>),
}

impl Clock {
    /// The operating system's clock: what the daemon and the CLI run on.
    pub fn system() -> Clock {
        Clock {
            source: Source::System,
        }
    }

    /// The current time.
    #[expect(
        clippy::disallowed_methods,
        reason = "the one reading of the wall clock"
    )]
    pub fn now(&self) -> Timestamp {
        match &self.source {
            Source::System => Timestamp::now(),
            Source::Manual(time) => *time.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::system()
    }
}

/// A clock a test sets and moves: it stands still between moves, so two readings with no
/// move between them are equal, and a week passes in no time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    time: Arc<Mutex<Timestamp>>,
}

impl ManualClock {
    pub fn starting_at(start: Timestamp) -> ManualClock {
        ManualClock {
            time: Arc::new(Mutex::new(start)),
        }
    }

    /// A [`Clock`] that reads this one: hand it to the code under test.
    pub fn clock(&self) -> Clock {
        Clock {
            source: Source::Manual(self.time.clone()),
        }
    }

    pub fn now(&self) -> Timestamp {
        *self.time.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the time forward (or back, for a negative `by`).
    pub fn advance(&self, by: SignedDuration) {
        let mut time = self.time.lock().unwrap_or_else(PoisonError::into_inner);
        *time = time.checked_add(by).unwrap_or(*time);
    }

    pub fn set(&self, to: Timestamp) {
        *self.time.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_stands_still_until_moved() {
        let start: Timestamp = "2027-12-31T23:59:30Z".parse().expect("time");
        let hand = ManualClock::starting_at(start);
        let clock = hand.clock();
        assert_eq!(clock.now(), start);
        assert_eq!(clock.now(), start);
        hand.advance(SignedDuration::from_secs(45));
        assert_eq!(clock.now().to_string(), "2028-01-01T00:00:15Z");
        hand.set(start);
        assert_eq!(clock.clone().now(), start);
    }

    #[test]
    fn the_system_clock_moves_on() {
        let clock = Clock::system();
        let first = clock.now();
        assert!(clock.now() >= first);
        assert!(first > "2020-01-01T00:00:00Z".parse::<Timestamp>().expect("time"));
    }
}
