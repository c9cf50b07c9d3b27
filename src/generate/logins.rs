//! Fraud mode's user events: ordinary logins, and the takeover logins of planted campaigns.
//!
//! Only with a fraud rate, on a random stream of its own (apart from the generator's and the
//! fraud planter's), so that the transactions stay exactly as they would be without it. Each
//! user has a home country and a few usual devices, "enrolled" by logins days before the
//! user's first activity in the stream; before an ordinary row the user logs in (again, if
//! the last login is more than a session ago) from a usual device at home. Now and then an
//! ordinary login comes from a new phone or from abroad, so that a new device or country
//! alone is no proof of fraud. A takeover login comes from a device the user never used
//! and/or a country other than home (`docs/fraud-features.md`, `fraud-features/2`).

use std::collections::{HashMap, VecDeque};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::record::UserEvent;

/// Salt that separates the login stream from the generator's and the fraud planter's.
const SALT: u64 = 0x6c6f_6769_6e73_5f31;
const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;
/// A user logs in again before a row if the last login is older than this.
const SESSION_MS: i64 = 2 * 60 * MINUTE_MS;
/// Chance that an ordinary login is from a new device of the user's own (a new phone).
const NEW_PHONE_CHANCE: f64 = 0.01;
/// Chance that an ordinary login is from abroad (travel).
const TRAVEL_CHANCE: f64 = 0.005;
/// The event type of a login.
pub const LOGIN: &str = "LOGIN";
/// Countries users live in and travel to (ISO 3166 alpha-2).
const COUNTRIES: [&str; 10] = ["US", "DE", "GB", "JP", "CH", "CA", "AU", "SE", "FR", "NL"];

/// One user's login profile.
struct Profile {
    country: &'static str,
    devices: Vec<String>,
    /// Time of the user's latest ordinary login.
    last_login: Option<i64>,
}

/// What a takeover campaign asks of the login stream (planned on the fraud planter's stream).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Takeover {
    /// The victim's index.
    pub user: usize,
    /// The login's event time, epoch milliseconds.
    pub timestamp: i64,
    /// Whether the attacker's device is one the user never used (else a usual device).
    pub new_device: bool,
    /// Whether the login comes from a country other than the user's home.
    pub new_country: bool,
}

/// Plans user events on its own seeded random stream and queues them for the producer.
pub struct LoginPlanter {
    rng: StdRng,
    seed: u64,
    profiles: HashMap<usize, Profile>,
    queue: VecDeque<UserEvent>,
    fresh: u64,
}

impl LoginPlanter {
    /// A planter seeded from the generator's `seed`.
    pub fn new(seed: u64) -> LoginPlanter {
        LoginPlanter {
            rng: StdRng::seed_from_u64(seed ^ SALT),
            seed,
            profiles: HashMap::new(),
            queue: VecDeque::new(),
            fresh: 0,
        }
    }

    /// The next queued user event.
    pub fn pending(&mut self) -> Option<UserEvent> {
        self.queue.pop_front()
    }

    /// A device id nobody used before.
    fn fresh_device(&mut self, user: usize) -> String {
        self.fresh += 1;
        format!("dev-{:x}-{user}-{}", self.seed, self.fresh)
    }

    /// The profile of `user`, created on first use: a home country and 1 to 3 usual devices,
    /// each enrolled by a login 1 to 30 days before `first_ms`.
    fn profile(&mut self, user: usize, first_ms: i64) -> &mut Profile {
        if !self.profiles.contains_key(&user) {
            let country = COUNTRIES[self.rng.random_range(0..COUNTRIES.len())];
            let devices: Vec<String> =
                (0..self.rng.random_range(1..=3)).map(|_| self.fresh_device(user)).collect();
            for device in &devices {
                let at = first_ms - self.rng.random_range(DAY_MS..30 * DAY_MS);
                self.queue.push_back(login(user, device, country, at));
            }
            self.profiles.insert(user, Profile { country, devices, last_login: None });
        }
        self.profiles.entry(user).or_insert_with(|| Profile {
            country: COUNTRIES[0],
            devices: Vec::new(),
            last_login: None,
        })
    }

    /// A usual device of `user` (a fresh one, remembered, if the user has none).
    fn usual_device(&mut self, user: usize, timestamp: i64) -> String {
        let count = self.profile(user, timestamp).devices.len();
        if count == 0 {
            let device = self.fresh_device(user);
            self.profile(user, timestamp).devices.push(device.clone());
            return device;
        }
        let pick = self.rng.random_range(0..count);
        self.profile(user, timestamp).devices[pick].clone()
    }

    /// An ordinary row of `user` at `timestamp`: a login shortly before it, unless the user
    /// logged in within the session before.
    pub fn before_row(&mut self, user: usize, timestamp: i64) {
        let last = self.profile(user, timestamp).last_login;
        if last.is_some_and(|last| last <= timestamp && timestamp - last < SESSION_MS) {
            return;
        }
        let at = timestamp - self.rng.random_range(5_000..10 * MINUTE_MS);
        let new_phone = self.rng.random_bool(NEW_PHONE_CHANCE);
        let abroad = self.rng.random_bool(TRAVEL_CHANCE);
        let device = if new_phone {
            let device = self.fresh_device(user);
            self.profile(user, timestamp).devices.push(device.clone());
            device
        } else {
            self.usual_device(user, timestamp)
        };
        let home = self.profile(user, timestamp).country;
        let country = if abroad { self.other_country(home) } else { home };
        self.profile(user, timestamp).last_login = Some(at);
        self.queue.push_back(login(user, &device, country, at));
    }

    /// The login of a takeover campaign.
    pub fn takeover(&mut self, plan: Takeover) {
        let home = self.profile(plan.user, plan.timestamp).country;
        let device = if plan.new_device {
            self.fresh_device(plan.user)
        } else {
            self.usual_device(plan.user, plan.timestamp)
        };
        let country = if plan.new_country { self.other_country(home) } else { home };
        self.queue.push_back(login(plan.user, &device, country, plan.timestamp));
    }

    /// A country other than `home`.
    fn other_country(&mut self, home: &'static str) -> &'static str {
        let others: Vec<&'static str> = COUNTRIES.iter().copied().filter(|c| *c != home).collect();
        others[self.rng.random_range(0..others.len())]
    }
}

/// A login event.
fn login(user: usize, device: &str, country: &str, timestamp: i64) -> UserEvent {
    UserEvent {
        user_id: format!("user-{user:05}"),
        event_type: LOGIN.to_owned(),
        device: Some(device.to_owned()),
        country: Some(country.to_owned()),
        ip: None,
        timestamp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(planter: &mut LoginPlanter) -> Vec<UserEvent> {
        std::iter::from_fn(|| planter.pending()).collect()
    }

    #[test]
    fn first_activity_enrolls_usual_devices_then_logs_in_once_per_session() {
        let mut planter = LoginPlanter::new(3);
        let t = 100 * DAY_MS;
        planter.before_row(4, t);
        let first = drain(&mut planter);
        assert!(first.len() >= 2, "enrolment plus a login: {first:?}");
        assert!(first.iter().all(|e| e.user_id == "user-00004" && e.event_type == LOGIN));
        assert!(first[..first.len() - 1].iter().all(|e| e.timestamp <= t - DAY_MS));
        let last = first.last().unwrap();
        assert!((t - 10 * MINUTE_MS..t).contains(&last.timestamp));
        planter.before_row(4, t + MINUTE_MS);
        assert!(drain(&mut planter).is_empty(), "same session, no new login");
        planter.before_row(4, t + 3 * SESSION_MS);
        assert_eq!(drain(&mut planter).len(), 1);
    }

    #[test]
    fn takeover_logins_use_a_device_or_country_the_user_never_had() {
        let mut planter = LoginPlanter::new(5);
        planter.before_row(1, DAY_MS * 50);
        let usual = drain(&mut planter);
        let plan = Takeover { user: 1, timestamp: DAY_MS * 50 + 5, new_device: true, new_country: true };
        planter.takeover(plan);
        let attack = drain(&mut planter);
        assert_eq!(attack.len(), 1);
        assert!(usual.iter().all(|e| e.device != attack[0].device));
        let home = usual[0].country.clone();
        assert_ne!(attack[0].country, home);
        planter.takeover(Takeover { new_device: false, new_country: false, ..plan });
        let same = drain(&mut planter);
        assert!(usual.iter().any(|e| e.device == same[0].device));
        assert_eq!(same[0].country, home);
    }

    #[test]
    fn seeded() {
        let run = |seed| {
            let mut planter = LoginPlanter::new(seed);
            for i in 0..500 {
                planter.before_row(i % 50, DAY_MS * 10 + i as i64 * 997_000);
            }
            drain(&mut planter)
        };
        assert_eq!(run(8), run(8));
        assert_ne!(run(8), run(9));
    }
}
