//! When to try a request again, and how long to wait first.
//!
//! octocrab's own retry layer retries 5xx at once and waits out a rate limit
//! for as long as GitHub says (at least 5 s, with no upper bound), so it is
//! turned off and this policy decides instead: rate limits (429, or 403 with
//! `x-ratelimit-remaining: 0` or a `retry-after`) wait for `retry-after` or
//! until `x-ratelimit-reset`; server errors back off exponentially; all
//! waiting together is capped, and a reset beyond the cap gives up at once
//! rather than sleeping in vain.

use std::time::Duration;

use super::env::Env;

/// Caps all waiting of one run, in seconds (a decimal number).
pub const MAX_WAIT_VAR: &str = "MLSCORE_MAX_RETRY_WAIT";
/// Retries per request.
pub const RETRIES_VAR: &str = "MLSCORE_RETRIES";
/// Seconds all network work of one run may take together.
pub const DEADLINE_VAR: &str = "MLSCORE_NETWORK_DEADLINE";

/// How persistent to be.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries of one request after its first try.
    pub max_retries: u32,
    /// All waiting of one run together.
    pub max_total_wait: Duration,
    /// The first wait after a server error; it doubles each time.
    pub base_backoff: Duration,
    /// All network work of one run together: requests, their timeouts and
    /// every wait. Past it nothing more is sent; the local reports stand.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            max_total_wait: Duration::from_secs(60),
            base_backoff: Duration::from_secs(1),
            deadline: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The default, adjusted by `MLSCORE_MAX_RETRY_WAIT`, `MLSCORE_RETRIES`
    /// and `MLSCORE_NETWORK_DEADLINE` (tests keep the waiting to about a
    /// second this way).
    pub fn from_env(env: &dyn Env) -> RetryPolicy {
        let mut policy = RetryPolicy::default();
        if let Some(secs) = env
            .var(MAX_WAIT_VAR)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
        {
            policy.max_total_wait = Duration::from_secs_f64(secs.min(3600.0));
            policy.base_backoff = policy.base_backoff.min(policy.max_total_wait / 4);
        }
        if let Some(n) = env.var(RETRIES_VAR).and_then(|v| v.trim().parse().ok()) {
            policy.max_retries = n;
        }
        if let Some(secs) = env
            .var(DEADLINE_VAR)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
        {
            policy.deadline = Duration::from_secs_f64(secs.min(3600.0));
        }
        policy
    }
}

/// What an answer says about retrying.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// `retry-after`, in seconds.
    pub retry_after: Option<u64>,
    /// `x-ratelimit-remaining`.
    pub remaining: Option<u64>,
    /// `x-ratelimit-reset`, in epoch seconds.
    pub reset: Option<u64>,
}

impl Answer {
    /// Whether this is a rate limit rather than a refusal: a 403 is one only
    /// with the headers that say so.
    pub fn is_rate_limit(&self) -> bool {
        self.status == 429
            || (self.status == 403 && (self.remaining == Some(0) || self.retry_after.is_some()))
    }
}

/// The decision for one failed try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// A rate limit that resets after the remaining budget: give up now.
    RateLimitTooLong { wait: Duration },
    /// Do not retry; the answer stands.
    Stop,
}

/// Decides about a try that got `answer` (`None`: no answer at all, a
/// transport error). `attempt` counts the retries so far, `waited` the
/// run's waiting so far, `now` is epoch seconds; `idempotent` requests are
/// safe to send twice, so only they are retried after a server or transport
/// error — a POST that failed with a 502 may have been done.
pub fn decide(
    policy: &RetryPolicy,
    answer: Option<&Answer>,
    attempt: u32,
    waited: Duration,
    now: u64,
    idempotent: bool,
) -> Decision {
    if attempt >= policy.max_retries {
        return Decision::Stop;
    }
    let budget = policy.max_total_wait.saturating_sub(waited);
    match answer {
        Some(answer) if answer.is_rate_limit() => {
            // A rate-limited request was not carried out: always safe to resend.
            let wait = match (answer.retry_after, answer.remaining, answer.reset) {
                (Some(secs), _, _) => Duration::from_secs(secs),
                (None, Some(0), Some(reset)) => {
                    // One second more: the reset is rounded down to a second.
                    Duration::from_secs(reset.saturating_sub(now) + 1)
                }
                _ => Duration::from_secs(60),
            };
            if wait > budget {
                Decision::RateLimitTooLong { wait }
            } else {
                Decision::RetryAfter(wait)
            }
        }
        Some(answer) if answer.status >= 500 && idempotent => {
            Decision::RetryAfter(backoff(policy, attempt).min(budget))
        }
        None if idempotent => Decision::RetryAfter(backoff(policy, attempt).min(budget)),
        _ => Decision::Stop,
    }
}

fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    policy.base_backoff * 2u32.saturating_pow(attempt.min(16))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn answer(status: u16) -> Answer {
        Answer {
            status,
            ..Answer::default()
        }
    }

    #[test]
    fn server_errors_back_off_for_idempotent_requests_only() {
        let policy = RetryPolicy::default();
        let zero = Duration::ZERO;
        assert_eq!(
            decide(&policy, Some(&answer(502)), 0, zero, NOW, true),
            Decision::RetryAfter(Duration::from_secs(1))
        );
        assert_eq!(
            decide(&policy, Some(&answer(500)), 2, zero, NOW, true),
            Decision::RetryAfter(Duration::from_secs(4))
        );
        assert_eq!(
            decide(&policy, Some(&answer(500)), 3, zero, NOW, true),
            Decision::Stop
        );
        assert_eq!(
            decide(&policy, Some(&answer(500)), 0, zero, NOW, false),
            Decision::Stop
        );
        assert_eq!(
            decide(&policy, None, 0, zero, NOW, true),
            Decision::RetryAfter(Duration::from_secs(1))
        );
    }

    #[test]
    fn rate_limits_wait_for_retry_after_or_the_reset() {
        let policy = RetryPolicy::default();
        let limited = Answer {
            status: 403,
            remaining: Some(0),
            reset: Some(NOW + 5),
            ..Answer::default()
        };
        assert_eq!(
            decide(&policy, Some(&limited), 0, Duration::ZERO, NOW, false),
            Decision::RetryAfter(Duration::from_secs(6))
        );
        let retry_after = Answer {
            status: 429,
            retry_after: Some(2),
            ..Answer::default()
        };
        assert_eq!(
            decide(&policy, Some(&retry_after), 0, Duration::ZERO, NOW, false),
            Decision::RetryAfter(Duration::from_secs(2))
        );
    }

    #[test]
    fn a_plain_403_is_a_refusal_not_a_rate_limit() {
        let policy = RetryPolicy::default();
        let refused = Answer {
            status: 403,
            remaining: Some(999),
            ..Answer::default()
        };
        assert!(!refused.is_rate_limit());
        assert_eq!(
            decide(&policy, Some(&refused), 0, Duration::ZERO, NOW, true),
            Decision::Stop
        );
    }

    #[test]
    fn waiting_is_capped_and_a_far_reset_gives_up_at_once() {
        let policy = RetryPolicy {
            max_total_wait: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        let far = Answer {
            status: 403,
            remaining: Some(0),
            reset: Some(NOW + 3600),
            ..Answer::default()
        };
        assert_eq!(
            decide(&policy, Some(&far), 0, Duration::ZERO, NOW, true),
            Decision::RateLimitTooLong {
                wait: Duration::from_secs(3601)
            }
        );
        // The backoff shrinks to what is left of the budget.
        assert_eq!(
            decide(
                &policy,
                Some(&answer(500)),
                2,
                Duration::from_secs(9),
                NOW,
                true
            ),
            Decision::RetryAfter(Duration::from_secs(1))
        );
    }

    #[test]
    fn env_overrides() {
        let env: BTreeMap<String, String> = [
            (MAX_WAIT_VAR.to_string(), "1.5".to_string()),
            (RETRIES_VAR.to_string(), "1".to_string()),
        ]
        .into();
        let policy = RetryPolicy::from_env(&env);
        assert_eq!(policy.max_total_wait, Duration::from_millis(1500));
        assert_eq!(policy.max_retries, 1);
        assert!(policy.base_backoff <= Duration::from_millis(375));
    }
}
