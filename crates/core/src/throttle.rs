//! The login throttling rules, as pure functions over a per-account counter: growing
//! delays after failures, a lockout after too many in a row (lifted by the owner from an
//! e-mailed link), and a hard cap on wrong guesses per 24 hours.
//!
//! An attempt is counted *before* the password is checked and given back on success, so
//! that parallel requests cannot slip more guesses past the limits than they allow.

/// Failures counted against one typed e-mail address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counter {
    pub key_hash: String,
    /// Failures (and attempts in flight) since the last success or unlock.
    pub consecutive: i64,
    /// When the last attempt was counted.
    pub last_failure_at: i64,
    /// Start of the current 24-hour window, and failures within it.
    pub window_start: i64,
    pub window_failures: i64,
    /// Set when too many failures in a row locked the account.
    pub locked_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Failures in a row allowed before delays start.
    pub free_failures: i64,
    pub base_delay_ms: i64,
    pub max_delay_ms: i64,
    /// Failures in a row that lock the account until the owner unlocks it.
    pub lock_after: i64,
    /// Wrong guesses allowed per window (24 hours), unlocks or not.
    pub daily_max: i64,
    pub window_ms: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            free_failures: 3,
            base_delay_ms: 1_000,
            max_delay_ms: 15 * 60 * 1000,
            lock_after: 10,
            daily_max: 100,
            window_ms: WINDOW_MS,
        }
    }
}

pub const WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// Why an attempt was not even tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Too soon after the last failure: wait this many milliseconds.
    Delayed(i64),
    /// Locked until the owner follows the e-mailed link.
    Locked,
    /// The day's guesses are used up: wait this many milliseconds (or reset the password).
    DailyCap(i64),
}

impl Policy {
    /// How long to wait after `consecutive` failures before the next attempt.
    pub fn delay_ms(&self, consecutive: i64) -> i64 {
        if consecutive < self.free_failures.max(1) {
            return 0;
        }
        let doublings = (consecutive - self.free_failures).clamp(0, 30) as u32;
        self.base_delay_ms
            .saturating_mul(1i64 << doublings)
            .min(self.max_delay_ms)
    }

    /// Decides whether an attempt may go ahead; if so, returns the counter with the
    /// attempt already counted as a failure.
    pub fn admit(&self, c: &Counter, now: i64) -> Result<Counter, Refusal> {
        let mut next = c.clone();
        // Attempts race for the counter, each with the time it read before: one that
        // reaches it after a later-stamped update is taken as happening at that update.
        // Otherwise it would wait for a delay of nothing, or (read as a clock set back)
        // open a fresh window past the day's cap.
        let now = now.max(next.last_failure_at).max(next.window_start);
        if now - next.window_start >= self.window_ms {
            next.window_start = now;
            next.window_failures = 0;
        }
        if next.window_failures >= self.daily_max {
            return Err(Refusal::DailyCap(next.window_start + self.window_ms - now));
        }
        if next.locked_at.is_some() {
            return Err(Refusal::Locked);
        }
        let ready_at = next.last_failure_at + self.delay_ms(next.consecutive);
        if now < ready_at {
            return Err(Refusal::Delayed(ready_at - now));
        }
        next.consecutive += 1;
        next.window_failures += 1;
        next.last_failure_at = now;
        Ok(next)
    }

    /// The attempt counted by [`Policy::admit`] succeeded: it was no failure, and the
    /// run of failures is over.
    pub fn succeeded(&self, c: &Counter) -> Counter {
        Counter {
            consecutive: 0,
            window_failures: (c.window_failures - 1).max(0),
            locked_at: None,
            ..c.clone()
        }
    }

    /// The password was right but a second step must follow: the counted attempt is
    /// given back, and the run of failures goes on until the second step succeeds.
    pub fn returned(&self, c: &Counter) -> Counter {
        Counter {
            consecutive: (c.consecutive - 1).max(0),
            window_failures: (c.window_failures - 1).max(0),
            ..c.clone()
        }
    }

    /// The attempt failed (it is already counted); locks when the run is long enough.
    /// Returns the counter and whether this failure is the one that locked it.
    pub fn failed(&self, c: &Counter, now: i64) -> (Counter, bool) {
        let mut next = c.clone();
        let lock = next.locked_at.is_none() && next.consecutive >= self.lock_after;
        if lock {
            next.locked_at = Some(now);
        }
        (next, lock)
    }

    /// The owner followed the unlock link: the run ends, the day's count stays.
    pub fn unlocked(&self, c: &Counter) -> Counter {
        Counter {
            consecutive: 0,
            locked_at: None,
            ..c.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(p: &Policy, c: &Counter, now: i64) -> Result<Counter, Refusal> {
        let admitted = p.admit(c, now)?;
        Ok(p.failed(&admitted, now).0)
    }

    #[test]
    fn delays_grow_then_the_account_locks() {
        let p = Policy::default();
        let mut c = Counter::default();
        let mut now = 1_000_000;
        for _ in 0..3 {
            c = fail(&p, &c, now).unwrap();
        }
        // Three free failures, then 1 s, 2 s, 4 s...
        assert_eq!(p.admit(&c, now), Err(Refusal::Delayed(1000)));
        now += 1000;
        c = fail(&p, &c, now).unwrap();
        assert_eq!(p.admit(&c, now + 1999), Err(Refusal::Delayed(1)));
        for _ in 4..10 {
            now += p.delay_ms(c.consecutive);
            c = fail(&p, &c, now).unwrap();
        }
        assert_eq!(c.consecutive, 10);
        assert!(c.locked_at.is_some());
        assert_eq!(p.admit(&c, now + WINDOW_MS - 1), Err(Refusal::Locked));
        let u = p.unlocked(&c);
        assert!(p.admit(&u, now).is_ok());
        assert_eq!(u.window_failures, 10);
    }

    #[test]
    fn at_most_the_daily_cap_of_wrong_guesses_even_with_unlocks() {
        let p = Policy::default();
        let (mut c, mut now, mut guesses) = (Counter::default(), 5_000_000, 0);
        loop {
            match p.admit(&c, now) {
                Ok(a) => {
                    guesses += 1;
                    c = p.failed(&a, now).0;
                }
                Err(Refusal::Locked) => c = p.unlocked(&c),
                Err(Refusal::Delayed(ms)) => now += ms,
                Err(Refusal::DailyCap(_)) => break,
            }
        }
        assert_eq!(guesses, 100);
        assert!(now < 5_000_000 + WINDOW_MS);
        // A new window starts a day after the first counted failure.
        assert!(p.admit(&p.unlocked(&c), 5_000_000 + WINDOW_MS).is_ok());
    }

    #[test]
    fn success_gives_the_reserved_attempt_back() {
        let p = Policy::default();
        let c = fail(&p, &Counter::default(), 10).unwrap();
        let a = p.admit(&c, 20).unwrap();
        let s = p.succeeded(&a);
        assert_eq!((s.consecutive, s.window_failures), (0, 1));
        assert_eq!(p.delay_ms(40), p.max_delay_ms);
    }

    #[test]
    fn an_attempt_stamped_before_the_last_update_is_neither_delayed_nor_a_new_window() {
        let p = Policy {
            daily_max: 2,
            ..Policy::default()
        };
        let c = p.admit(&Counter::default(), 10_000).unwrap();
        // Raced: read its clock 1 ms earlier, reached the counter after the first.
        let c = p.admit(&c, 9_999).unwrap();
        assert_eq!(c.window_failures, 2);
        assert_eq!(
            p.admit(&c, 9_998),
            Err(Refusal::DailyCap(c.window_start + p.window_ms - 10_000))
        );
    }
}
