//! Logins from the user-events stream and a transaction's login features (`fraud-features/2`).
//!
//! The definitions are in `docs/fraud-features.md` ("Login features"); in short, for a
//! transaction of user `u` at time `t`:
//!
//! * the **logins** of `u` are `u`'s user events whose `eventType` is `LOGIN` (ASCII case
//!   ignored), every copy counted; a transaction with a null userId has none;
//! * a login at time `s` is a **new-device** login iff its device is neither null nor `""` and
//!   no login of `u` with a timestamp *strictly before* `s` had that device (byte-exact); the
//!   same for **new-country** logins and the country;
//! * the window is `(t - 30 min, t]`: a login at the very millisecond of the payment counts,
//!   one exactly 30 minutes earlier does not.
//!
//! [`LoginTimeline`] holds one user's logins; [`LoginTimeline::at`] answers for any `t` in
//! O(log n), so the same timeline serves the bounded computation and the per-user reduce.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::features::MINUTE_MS;
use crate::record::UserEvent;

/// N, the login window: logins in `(t - N, t]` count for a transaction at `t`.
pub const LOGIN_WINDOW_MS: i64 = 30 * MINUTE_MS;
/// The event type of a login (compared ignoring ASCII case).
pub const LOGIN_EVENT: &str = "LOGIN";

/// One login: what the features need of a user event (its user is the key beside it).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Login {
    /// Event time, epoch milliseconds.
    pub timestamp: i64,
    /// The device, if known.
    pub device: Option<String>,
    /// The country, if known.
    pub country: Option<String>,
}

impl Login {
    /// The user and login of `event`, or `None` if it is not a login.
    pub fn of(event: &UserEvent) -> Option<(String, Login)> {
        event.event_type.eq_ignore_ascii_case(LOGIN_EVENT).then(|| {
            let login = Login {
                timestamp: event.timestamp,
                device: event.device.clone(),
                country: event.country.clone(),
            };
            (event.user_id.clone(), login)
        })
    }
}

/// The login features of one transaction (all null when it has no timestamp).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LoginFeatures {
    /// Logins in `(t - N, t]`, copies counted.
    pub logins_30m: Option<u64>,
    /// Seconds from the latest new-device login in `(t - N, t]` to `t`; null when none.
    pub new_device_login_s: Option<f64>,
    /// Seconds from the latest new-country login in `(t - N, t]` to `t`; null when none.
    pub new_country_login_s: Option<f64>,
}

/// One user's logins in event-time order, with the latest new-device and new-country login
/// up to each of them.
#[derive(Clone, Debug, Default)]
pub struct LoginTimeline {
    /// Timestamps of the physical logins (copies repeated), ascending.
    times: Vec<i64>,
    /// `latest_new[k]`: timestamps of the latest new-device and new-country login among the
    /// first `k` physical logins.
    latest_new: Vec<(Option<i64>, Option<i64>)>,
}

impl LoginTimeline {
    /// A user without logins.
    pub fn empty() -> LoginTimeline {
        LoginTimeline { times: Vec::new(), latest_new: vec![(None, None)] }
    }

    /// The timeline of one user's logins, given in any order with their multiplicities
    /// (non-positive multiplicities count as absent).
    pub fn new<'a>(logins: impl IntoIterator<Item = (&'a Login, isize)>) -> LoginTimeline {
        let mut logins: Vec<(&Login, usize)> =
            logins.into_iter().filter(|(_, n)| *n > 0).map(|(l, n)| (l, n as usize)).collect();
        logins.sort();
        let mut timeline = LoginTimeline::empty();
        let mut devices: HashSet<&str> = HashSet::new();
        let mut countries: HashSet<&str> = HashSet::new();
        let mut latest = (None, None);
        let mut i = 0;
        while i < logins.len() {
            // One millisecond at a time: logins at the same time do not make each other known.
            let s = logins[i].0.timestamp;
            let group = logins[i..].iter().take_while(|(l, _)| l.timestamp == s).count();
            let same_ms = &logins[i..i + group];
            let is_new = |field: &Option<String>, seen: &HashSet<&str>| {
                field.as_deref().filter(|v| !v.is_empty()).is_some_and(|v| !seen.contains(v))
            };
            for (login, copies) in same_ms {
                if is_new(&login.device, &devices) {
                    latest.0 = Some(s);
                }
                if is_new(&login.country, &countries) {
                    latest.1 = Some(s);
                }
                for _ in 0..*copies {
                    timeline.times.push(s);
                    timeline.latest_new.push(latest);
                }
            }
            for (login, _) in same_ms {
                devices.extend(login.device.as_deref().filter(|v| !v.is_empty()));
                countries.extend(login.country.as_deref().filter(|v| !v.is_empty()));
            }
            i += group;
        }
        timeline
    }

    /// Number of physical logins.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Whether there are no logins.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// The login features of a transaction at `t`.
    pub fn at(&self, t: i64) -> LoginFeatures {
        let upto = self.times.partition_point(|&s| s <= t);
        let start = self.times.partition_point(|&s| s <= t.saturating_sub(LOGIN_WINDOW_MS));
        let (device, country) = self.latest_new.get(upto).copied().unwrap_or_default();
        let since = |s: Option<i64>| {
            s.filter(|&s| s > t.saturating_sub(LOGIN_WINDOW_MS)).map(|s| (t - s) as f64 / 1000.0)
        };
        LoginFeatures {
            logins_30m: Some((upto - start) as u64),
            new_device_login_s: since(device),
            new_country_login_s: since(country),
        }
    }
}
