//! Planted fraud: seeded campaigns of labelled transactions, on a random stream of their own.
//!
//! With a fraud rate of 0 nothing here runs and the generator's stream is unchanged. With a
//! positive rate, a [`Planter`] (seeded from the generator's seed, apart from its main random
//! stream) starts campaigns between ordinary rows; a campaign is one [`FraudPattern`] played
//! on one user, and every row it emits is labelled with that pattern. Fraud mode also makes
//! ordinary activity look like people: most night-time rows move to the morning, and a few
//! ordinary rows are paid in a travel currency, so that no single feature gives fraud away.

use std::collections::VecDeque;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::logins::Takeover;

/// Salt that separates the planter's random stream from the generator's.
const SALT: u64 = 0x6672_6175_645f_7631;
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Ordinary rows in this UTC hour range `[start, end)` are mostly moved 4 hours later.
pub const NIGHT_HOURS: (i64, i64) = (1, 5);
/// Chance that an ordinary night-time row is moved to the morning.
const NIGHT_SHIFT_CHANCE: f64 = 0.9;
/// Chance that an ordinary row is paid in a currency other than the user's own.
const TRAVEL_CHANCE: f64 = 0.003;

/// A kind of planted fraud.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FraudPattern {
    /// A stolen card checked with a burst of small amounts seconds apart (sometimes followed by
    /// one large purchase).
    CardTesting,
    /// One amount 10 to 40 times the user's typical amount.
    AmountSpike,
    /// One or two fair-sized payments in a currency the user never pays in.
    UnusualCurrency,
    /// A few large payments between 01:00 and 05:00 UTC, when the user's peers sleep.
    NightTime,
    /// Many ordinary-to-large payments within a minute or two.
    RapidVelocity,
    /// A login from a device the user never used and/or from abroad (on the user-events
    /// stream, [`super::logins`]), then within minutes one to three large payments.
    AccountTakeover,
}

impl FraudPattern {
    /// Every pattern, in the order campaigns draw from.
    pub const ALL: [FraudPattern; 6] = [
        FraudPattern::CardTesting,
        FraudPattern::AmountSpike,
        FraudPattern::UnusualCurrency,
        FraudPattern::NightTime,
        FraudPattern::RapidVelocity,
        FraudPattern::AccountTakeover,
    ];

    /// The pattern's name in the labels file and the ledger.
    pub fn name(self) -> &'static str {
        match self {
            FraudPattern::CardTesting => "card_testing",
            FraudPattern::AmountSpike => "amount_spike",
            FraudPattern::UnusualCurrency => "unusual_currency",
            FraudPattern::NightTime => "night_time",
            FraudPattern::RapidVelocity => "rapid_velocity",
            FraudPattern::AccountTakeover => "account_takeover",
        }
    }

    /// Rows a campaign of this pattern emits on average (see [`Planter::campaign`]).
    fn mean_rows(self) -> f64 {
        match self {
            FraudPattern::CardTesting => 8.5 + 0.5,
            FraudPattern::AmountSpike => 1.0,
            FraudPattern::UnusualCurrency => 1.5,
            FraudPattern::NightTime => 3.0,
            FraudPattern::RapidVelocity => 7.5,
            FraudPattern::AccountTakeover => 2.0,
        }
    }
}

/// One planned fraudulent row: everything but its transactionId, which the generator gives
/// when it emits the row.
#[derive(Clone, Debug, PartialEq)]
pub struct FraudRow {
    /// The victim's index.
    pub user: usize,
    /// Event time, epoch milliseconds.
    pub timestamp: i64,
    /// Amount in cents (positive).
    pub cents: i64,
    /// Currency code.
    pub currency: &'static str,
    /// The campaign's pattern.
    pub pattern: FraudPattern,
}

/// What a campaign needs to know about its victim.
#[derive(Clone, Copy, Debug)]
pub struct Victim {
    /// The victim's index.
    pub user: usize,
    /// The user's typical amount, cents.
    pub typical_cents: i64,
    /// The user's own currency.
    pub home_currency: &'static str,
    /// Where the campaign starts in event time (the user's clock, or the steady timeline).
    pub reference_ms: i64,
}

/// Plans fraud campaigns on its own seeded random stream.
pub struct Planter {
    rng: StdRng,
    start_chance: f64,
    queue: VecDeque<FraudRow>,
    takeover: Option<Takeover>,
}

impl Planter {
    /// A planter that makes about `rate` of all events fraudulent, or `None` for rate 0.
    pub fn new(seed: u64, rate: f64) -> Option<Planter> {
        if rate <= 0.0 {
            return None;
        }
        // A slot starts a campaign with chance p and then yields m rows instead of 1:
        // fraud share = p*m / (1 - p + p*m) = rate, solved for p.
        let m = FraudPattern::ALL.iter().map(|p| p.mean_rows()).sum::<f64>() / FraudPattern::ALL.len() as f64;
        let start_chance = (rate / (m * (1.0 - rate) + rate)).clamp(0.0, 1.0);
        Some(Planter {
            rng: StdRng::seed_from_u64(seed ^ SALT),
            start_chance,
            queue: VecDeque::new(),
            takeover: None,
        })
    }

    /// The next queued row of a running campaign.
    pub fn pending(&mut self) -> Option<FraudRow> {
        self.queue.pop_front()
    }

    /// The takeover login the last campaign planned, if it was an account takeover (taken
    /// once: the generator hands it to the login stream).
    pub fn take_takeover(&mut self) -> Option<Takeover> {
        self.takeover.take()
    }

    /// Whether this slot starts a new campaign.
    pub fn starts(&mut self) -> bool {
        self.rng.random_bool(self.start_chance)
    }

    /// A victim index in `0..users`, uniformly: a card is compromised whether or not its
    /// owner uses it a lot (the generator's busiest users make thousands of payments a day).
    pub fn pick_victim(&mut self, users: usize) -> usize {
        self.rng.random_range(0..users.max(1))
    }

    /// Plans one campaign on `victim`, queues its rows (in event-time order) and returns the
    /// first. `bounds` keeps timestamps inside `[lo, hi]` (the generator's valid day), if set.
    pub fn campaign(
        &mut self,
        victim: Victim,
        currencies: &[&'static str],
        bounds: Option<(i64, i64)>,
    ) -> FraudRow {
        let pattern = FraudPattern::ALL[self.rng.random_range(0..FraudPattern::ALL.len())];
        let typical = victim.typical_cents as f64;
        let mut start = victim.reference_ms + self.rng.random_range(MINUTE_MS..30 * MINUTE_MS);
        let mut rows: Vec<(i64, i64, &'static str)> = Vec::new();
        let home = victim.home_currency;
        let mut login: Option<(i64, bool, bool)> = None;
        match pattern {
            FraudPattern::CardTesting => {
                let n = self.rng.random_range(4..=12);
                let mut t = start;
                for _ in 0..n {
                    rows.push((t, self.rng.random_range(50..500), home));
                    t += self.rng.random_range(3_000..40_000);
                }
                if self.rng.random_bool(0.5) {
                    rows.push((t, (typical * self.rng.random_range(5.0..15.0)) as i64, home));
                }
            }
            FraudPattern::AmountSpike => {
                rows.push((start, (typical * self.rng.random_range(10.0..40.0)) as i64, home));
            }
            FraudPattern::UnusualCurrency => {
                let foreign = self.foreign(home, currencies);
                for i in 0..self.rng.random_range(1..=2) {
                    let t = start + i * self.rng.random_range(MINUTE_MS..20 * MINUTE_MS);
                    rows.push((t, (typical * self.rng.random_range(1.5..6.0)) as i64, foreign));
                }
            }
            FraudPattern::NightTime => {
                start = self.night(victim.reference_ms, bounds);
                let mut t = start;
                for _ in 0..self.rng.random_range(2..=4) {
                    rows.push((t, (typical * self.rng.random_range(2.0..8.0)) as i64, home));
                    t += self.rng.random_range(MINUTE_MS..10 * MINUTE_MS);
                }
            }
            FraudPattern::RapidVelocity => {
                let mut t = start;
                for _ in 0..self.rng.random_range(5..=10) {
                    rows.push((t, (typical * self.rng.random_range(0.8..3.0)) as i64, home));
                    t += self.rng.random_range(5_000..25_000);
                }
            }
            FraudPattern::AccountTakeover => {
                // New device (70%), new country (60%), at least one of them.
                let new_device = self.rng.random_bool(0.7);
                let new_country = !new_device || self.rng.random_bool(0.6);
                login = Some((start, new_device, new_country));
                let mut t = start + self.rng.random_range(MINUTE_MS..12 * MINUTE_MS);
                for _ in 0..self.rng.random_range(1..=3) {
                    rows.push((t, (typical * self.rng.random_range(4.0..15.0)) as i64, home));
                    t += self.rng.random_range(30_000..5 * MINUTE_MS);
                }
            }
        }
        // Keep the campaign inside the valid day: one that would run past its end restarts
        // near the day's start, as ordinary clocks wrap.
        if let Some((lo, hi)) = bounds {
            let last = rows.last().map_or(start, |r| r.0);
            if last > hi {
                let shift = last - (lo + self.rng.random_range(0..HOUR_MS));
                rows.iter_mut().for_each(|r| r.0 -= shift);
                if let Some(login) = login.as_mut() {
                    login.0 -= shift;
                }
            }
            rows.iter_mut().for_each(|r| r.0 = r.0.clamp(lo, hi));
            if let Some(login) = login.as_mut() {
                login.0 = login.0.clamp(lo, hi);
            }
        }
        self.takeover = login.map(|(timestamp, new_device, new_country)| Takeover {
            user: victim.user,
            timestamp,
            new_device,
            new_country,
        });
        self.queue.extend(rows.into_iter().map(|(timestamp, cents, currency)| FraudRow {
            user: victim.user,
            timestamp,
            cents: cents.max(1),
            currency,
            pattern,
        }));
        self.queue.pop_front().expect("every pattern plans at least one row")
    }

    /// A currency of `currencies` other than `home`.
    fn foreign(&mut self, home: &'static str, currencies: &[&'static str]) -> &'static str {
        let others: Vec<&'static str> = currencies.iter().copied().filter(|c| *c != home).collect();
        others[self.rng.random_range(0..others.len())]
    }

    /// A night-time moment (01:00 to 05:00 UTC) at or before `reference`, moved a day later if
    /// that falls before `bounds`' start.
    fn night(&mut self, reference: i64, bounds: Option<(i64, i64)>) -> i64 {
        let mut t = reference.div_euclid(DAY_MS) * DAY_MS
            + NIGHT_HOURS.0 * HOUR_MS
            + self.rng.random_range(0..(NIGHT_HOURS.1 - NIGHT_HOURS.0 - 1) * HOUR_MS);
        if t > reference {
            t -= DAY_MS;
        }
        if let Some((lo, _)) = bounds {
            while t < lo {
                t += DAY_MS;
            }
        }
        t
    }

    /// Fraud mode's start of a user's clock: anywhere in `[lo, hi)` (the generator's own
    /// start puts every user in the first hour of the day, so that a light user's whole
    /// activity falls in the small hours).
    pub fn clock_start(&mut self, lo: i64, hi: i64) -> i64 {
        if hi > lo { self.rng.random_range(lo..hi) } else { lo }
    }

    /// Fraud mode's ordinary rows: a night-time `timestamp` is usually moved 4 hours later.
    pub fn shape_ordinary_time(&mut self, timestamp: i64) -> i64 {
        let hour = timestamp.rem_euclid(DAY_MS) / HOUR_MS;
        if (NIGHT_HOURS.0..NIGHT_HOURS.1).contains(&hour) && self.rng.random_bool(NIGHT_SHIFT_CHANCE) {
            timestamp + (NIGHT_HOURS.1 - NIGHT_HOURS.0) * HOUR_MS
        } else {
            timestamp
        }
    }

    /// Fraud mode's ordinary rows: now and then a travel currency instead of `home`.
    pub fn ordinary_currency(&mut self, home: &'static str, currencies: &[&'static str]) -> &'static str {
        if self.rng.random_bool(TRAVEL_CHANCE) { self.foreign(home, currencies) } else { home }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURRENCIES: [&str; 3] = ["USD", "EUR", "GBP"];

    fn victim() -> Victim {
        Victim {
            user: 3,
            typical_cents: 10_000,
            home_currency: "USD",
            reference_ms: 10 * DAY_MS + 12 * HOUR_MS,
        }
    }

    #[test]
    fn no_rate_no_planter() {
        assert!(Planter::new(1, 0.0).is_none());
    }

    #[test]
    fn campaigns_are_seeded_ordered_and_bounded() {
        let run = |seed| {
            let mut planter = Planter::new(seed, 0.01).unwrap();
            let bounds = Some((10 * DAY_MS + HOUR_MS, 11 * DAY_MS - MINUTE_MS));
            let mut rows = Vec::new();
            for _ in 0..200 {
                rows.push(planter.campaign(victim(), &CURRENCIES, bounds));
                rows.extend(std::iter::from_fn(|| planter.pending()));
            }
            rows
        };
        let rows = run(5);
        assert_eq!(rows, run(5), "same seed, same campaigns");
        assert!(rows.iter().all(|r| (10 * DAY_MS + HOUR_MS..11 * DAY_MS).contains(&r.timestamp)));
        for pattern in FraudPattern::ALL {
            assert!(rows.iter().any(|r| r.pattern == pattern), "{pattern:?} never planted");
        }
        let night = rows.iter().filter(|r| r.pattern == FraudPattern::NightTime);
        assert!(night.clone().all(|r| (1..6).contains(&(r.timestamp.rem_euclid(DAY_MS) / HOUR_MS))));
        let foreign = rows.iter().filter(|r| r.pattern == FraudPattern::UnusualCurrency);
        assert!(foreign.clone().all(|r| r.currency != "USD"));
    }

    #[test]
    fn issue5_takeover_logins_come_minutes_before_their_payments() {
        let mut planter = Planter::new(11, 0.01).unwrap();
        let bounds = Some((10 * DAY_MS + HOUR_MS, 11 * DAY_MS - MINUTE_MS));
        let mut takeovers = 0;
        for _ in 0..300 {
            let first = planter.campaign(victim(), &CURRENCIES, bounds);
            let rows: Vec<FraudRow> =
                std::iter::once(first).chain(std::iter::from_fn(|| planter.pending())).collect();
            let takeover = planter.take_takeover();
            assert_eq!(takeover.is_some(), rows[0].pattern == FraudPattern::AccountTakeover);
            if let Some(login) = takeover {
                takeovers += 1;
                assert!(login.new_device || login.new_country);
                assert_eq!(login.user, 3);
                assert!((1..=3).contains(&rows.len()));
                for row in &rows {
                    assert!(
                        row.timestamp >= login.timestamp && row.timestamp - login.timestamp < 30 * MINUTE_MS
                    );
                    assert!(row.cents >= 4 * 10_000, "large: {}", row.cents);
                }
            }
        }
        assert!(takeovers > 20, "{takeovers}");
    }

    #[test]
    fn ordinary_night_rows_mostly_move_to_the_morning() {
        let mut planter = Planter::new(9, 0.01).unwrap();
        let night = 3 * HOUR_MS + 17;
        let moved = (0..1000).filter(|_| planter.shape_ordinary_time(night) != night).count();
        assert!((850..950).contains(&moved), "{moved}");
        assert_eq!(planter.shape_ordinary_time(12 * HOUR_MS), 12 * HOUR_MS);
    }
}
