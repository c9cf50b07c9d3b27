//! A seeded stream of transactions: skewed users, bursts, late rows and planted anomalies.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

use super::fraud::{FraudPattern, FraudRow, Planter, Victim};
use super::logins::LoginPlanter;
use super::pii::{PiiPlanter, PlantedPii};
use crate::dataflow::quality::rules::timestamp_valid;
use crate::record::{Transaction, UserEvent};

/// Currencies the generator's normal rows use.
const CURRENCIES: [&str; 8] = ["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "SEK"];
/// Currency values a planted invalid-currency row uses.
const BAD_CURRENCIES: [&str; 6] = ["usd", "US", "USDT", " EUR", "€", "123"];
const CHANNELS: [&str; 4] = ["web", "mobile", "pos", "atm"];
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// How much of each kind of trouble to plant, as fractions of the rows (each row gets at most
/// one planted anomaly; duplicates copy a previous row's id).
#[derive(Clone, Debug)]
pub struct GeneratorConfig {
    /// Seed of the pseudo-random stream: the same seed gives the same events.
    pub seed: u64,
    /// Number of distinct users (activity is skewed: a few users produce most rows).
    pub users: u32,
    /// The "now" that timestamps are generated around, epoch milliseconds.
    pub now_ms: i64,
    /// Rows that repeat an earlier transactionId (half with the same payload).
    pub duplicate_rate: f64,
    /// Rows with a malformed currency.
    pub invalid_currency_rate: f64,
    /// Rows with an empty transactionId, userId or currency.
    pub empty_field_rate: f64,
    /// Rows with a zero or negative amount.
    pub non_positive_rate: f64,
    /// Rows older than 24 h before now (2 to 10 days).
    pub stale_rate: f64,
    /// Rows from the future (1 h to 2 days ahead).
    pub future_rate: f64,
    /// Rows that arrive out of event-time order for their user.
    pub out_of_order_rate: f64,
    /// Chance that a row starts a burst of rapid rows for its user.
    pub burst_rate: f64,
    /// Kafka values that are not decodable at all.
    pub garbage_rate: f64,
    /// Instead of per-user clocks inside the last 24 h, one steady clock that starts at
    /// `start_ms` and advances `step_ms` per row (e.g. weeks of event time, to watch a
    /// horizon bound the state). Rows older than 24 h before now are then stale as well.
    pub timeline: Option<Timeline>,
    /// Share of all events that are planted fraud with a ground-truth label (see
    /// [`super::fraud`]); 0 plants none and leaves the stream exactly as without fraud.
    pub fraud_rate: f64,
    /// Share of ordinary rows that get one metadata entry of personal data (e-mail, phone,
    /// card, IBAN, SSN, IP address, date of birth, name or address; see [`super::pii`]), on a
    /// random stream of its own; 0 plants none and leaves the stream exactly as without it.
    pub pii_rate: f64,
}

/// A steady event-time clock: the first row at `start_ms`, each next one `step_ms` later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeline {
    /// Timestamp of the first row, epoch milliseconds.
    pub start_ms: i64,
    /// Event time between consecutive rows, milliseconds.
    pub step_ms: i64,
}

impl Timeline {
    /// `rows` rows spread evenly over the `span_ms` before `now_ms`.
    pub fn spanning(now_ms: i64, span_ms: i64, rows: u64) -> Timeline {
        let rows = i64::try_from(rows.max(1)).unwrap_or(i64::MAX);
        Timeline { start_ms: now_ms - span_ms, step_ms: (span_ms / rows).max(1) }
    }
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            seed: 42,
            users: 2_000,
            now_ms: 1_767_225_600_000,
            duplicate_rate: 0.02,
            invalid_currency_rate: 0.01,
            empty_field_rate: 0.01,
            non_positive_rate: 0.01,
            stale_rate: 0.01,
            future_rate: 0.005,
            out_of_order_rate: 0.05,
            burst_rate: 0.002,
            garbage_rate: 0.005,
            timeline: None,
            fraud_rate: 0.0,
            pii_rate: 0.0,
        }
    }
}

/// A way in which a Kafka value is broken, with the dead-letter reason the codec must give.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Garbage {
    /// Not the Confluent magic byte.
    BadMagicByte,
    /// A schema id that the registry does not know.
    UnknownSchemaId,
    /// A valid header and a cut-off Avro body.
    TruncatedBody,
    /// Fewer than the 5 header bytes.
    TruncatedHeader,
}

/// The quality problems planted in one row: the generator's ground truth, kept apart from the
/// quality rules so that tests can check the rules against it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Planted {
    /// transactionId is `""`.
    pub empty_transaction_id: bool,
    /// userId is `""`.
    pub empty_user_id: bool,
    /// currency is `""`.
    pub empty_currency: bool,
    /// currency is present but malformed.
    pub bad_currency: bool,
    /// amount is zero or negative.
    pub non_positive_amount: bool,
    /// timestamp is more than 24 h before now.
    pub stale: bool,
    /// timestamp is after now.
    pub future: bool,
    /// timestamp is earlier than the user's previous row (still valid).
    pub out_of_order: bool,
    /// The row is planted fraud of this pattern (the label; never a field of the row).
    pub fraud: Option<FraudPattern>,
    /// The row carries planted personal data in this metadata entry (`--pii-rate`).
    pub pii: Option<PlantedPii>,
}

/// One generated Kafka value.
#[derive(Clone, Debug)]
pub enum Event {
    /// A well-formed transaction and the problems planted in it.
    Transaction(Transaction, Planted),
    /// An undecodable value of the given kind.
    Garbage(Garbage),
}

struct UserState {
    typical_cents: i64,
    home_currency: &'static str,
    clock_ms: i64,
}

/// The seeded event stream.
pub struct Generator {
    config: GeneratorConfig,
    rng: StdRng,
    users: Vec<UserState>,
    emitted: u64,
    /// Earlier rows that duplicates can copy (a bounded reservoir).
    recent: Vec<(Transaction, Planted)>,
    burst: Option<(usize, u32)>,
    /// Fraud campaigns, on their own random stream; `None` without a fraud rate.
    fraud: Option<Planter>,
    /// Planted PII, on its own random stream; `None` without a PII rate.
    pii: Option<PiiPlanter>,
    /// User events (logins), on their own random stream; `None` without a fraud rate.
    logins: Option<LoginPlanter>,
}

impl Generator {
    /// A generator for `config`.
    pub fn new(config: GeneratorConfig) -> Generator {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let mut users: Vec<UserState> = (0..config.users.max(1))
            .map(|_| UserState {
                typical_cents: (10f64.powf(rng.random_range(2.0..5.0))) as i64,
                home_currency: CURRENCIES[rng.random_range(0..CURRENCIES.len())],
                clock_ms: config.now_ms - 23 * HOUR_MS + rng.random_range(0..HOUR_MS),
            })
            .collect();
        let mut fraud = Planter::new(config.seed, config.fraud_rate);
        if let (Some(planter), None) = (fraud.as_mut(), config.timeline) {
            let (lo, hi) = (config.now_ms - 23 * HOUR_MS, config.now_ms - 60_000);
            users.iter_mut().for_each(|user| user.clock_ms = planter.clock_start(lo, hi));
        }
        let pii = PiiPlanter::new(config.seed, config.pii_rate);
        let logins = fraud.is_some().then(|| LoginPlanter::new(config.seed));
        Generator { config, rng, users, emitted: 0, recent: Vec::new(), burst: None, fraud, pii, logins }
    }

    /// The next user event planned so far (fraud mode only: logins before ordinary rows and
    /// takeover logins, `super::logins`). The producer drains them after each transaction
    /// event, so a login is sent before the payment that follows it.
    pub fn next_user_event(&mut self) -> Option<UserEvent> {
        self.logins.as_mut()?.pending()
    }

    /// A user index, skewed so that low indexes are much more active.
    fn pick_user(&mut self) -> usize {
        if let Some((user, left)) = self.burst.as_mut() {
            let user = *user;
            *left -= 1;
            if *left == 0 {
                self.burst = None;
            }
            return user;
        }
        let u: f64 = self.rng.random();
        ((u.powf(3.0) * self.users.len() as f64) as usize).min(self.users.len() - 1)
    }

    fn normal_row(&mut self) -> Transaction {
        let user = self.pick_user();
        let bursting = self.burst.is_some();
        if !bursting && self.rng.random_bool(self.config.burst_rate) {
            self.burst = Some((user, self.rng.random_range(5..30)));
        }
        let step =
            if bursting { self.rng.random_range(200..5_000) } else { self.rng.random_range(1_000..600_000) };
        let state = &mut self.users[user];
        let timestamp = match self.config.timeline {
            Some(timeline) => timeline.start_ms + timeline.step_ms * self.emitted as i64 - step.min(60_000),
            None => {
                // Keep normal rows inside the valid 24 h: wrap the user's clock back near now.
                state.clock_ms += step;
                if let Some(planter) = self.fraud.as_mut() {
                    state.clock_ms = planter.shape_ordinary_time(state.clock_ms);
                }
                if state.clock_ms > self.config.now_ms - 60_000 {
                    state.clock_ms = self.config.now_ms - 23 * HOUR_MS;
                }
                state.clock_ms
            }
        };
        let typical = state.typical_cents;
        if let Some(logins) = self.logins.as_mut() {
            logins.before_row(user, timestamp);
        }
        let currency = match self.fraud.as_mut() {
            Some(planter) => planter.ordinary_currency(state.home_currency, &CURRENCIES),
            None => state.home_currency,
        };
        let jitter: f64 = self.rng.random_range(0.6..1.4);
        let spike = if self.rng.random_bool(0.01) { self.rng.random_range(3.0..20.0) } else { 1.0 };
        let cents = ((typical as f64) * jitter * spike).max(1.0) as i64;
        let mut metadata = BTreeMap::new();
        if self.rng.random_bool(0.8) {
            metadata
                .insert("channel".to_owned(), CHANNELS[self.rng.random_range(0..CHANNELS.len())].to_owned());
            metadata.insert("merchant".to_owned(), format!("m-{}", self.rng.random_range(0..5_000)));
        }
        Transaction {
            origin: None,
            timestamp: Some(timestamp),
            transaction_id: Some(format!("tx-{:x}-{:08}", self.config.seed, self.emitted)),
            amount: Some(Decimal::new(cents, 2)),
            currency: Some(currency.to_owned()),
            metadata: Some(metadata.into()),
            user_id: Some(format!("user-{user:05}")),
        }
    }

    /// Applies at most one planted anomaly to a fresh row.
    fn plant(&mut self, mut row: Transaction) -> (Transaction, Planted) {
        let c = &self.config;
        let rates = [
            c.invalid_currency_rate,
            c.empty_field_rate,
            c.non_positive_rate,
            c.stale_rate,
            c.future_rate,
            c.out_of_order_rate,
        ];
        let mut pick: f64 = self.rng.random();
        let chosen = rates.iter().position(|rate| {
            pick -= rate;
            pick < 0.0
        });
        let now = c.now_ms;
        let mut planted = Planted::default();
        match chosen {
            Some(0) => {
                row.currency =
                    Some(BAD_CURRENCIES[self.rng.random_range(0..BAD_CURRENCIES.len())].to_owned());
                planted.bad_currency = true;
            }
            Some(1) => match self.rng.random_range(0..3) {
                0 => {
                    row.transaction_id = Some(String::new());
                    planted.empty_transaction_id = true;
                }
                1 => {
                    row.user_id = Some(String::new());
                    planted.empty_user_id = true;
                }
                _ => {
                    row.currency = Some(String::new());
                    planted.empty_currency = true;
                }
            },
            Some(2) => {
                row.amount = Some(if self.rng.random_bool(0.5) {
                    Decimal::new(0, 2)
                } else {
                    -row.amount.unwrap_or_default()
                });
                planted.non_positive_amount = true;
            }
            Some(3) => {
                let base = if c.timeline.is_some() { row.timestamp.unwrap_or(now) } else { now };
                row.timestamp = Some(base - self.rng.random_range(2 * DAY_MS..10 * DAY_MS));
                planted.stale = true;
            }
            Some(4) => {
                row.timestamp = Some(now + self.rng.random_range(HOUR_MS..2 * DAY_MS));
                planted.future = true;
            }
            Some(5) => {
                let floor = if c.timeline.is_some() { i64::MIN } else { now - 23 * HOUR_MS };
                row.timestamp =
                    row.timestamp.map(|t| (t - self.rng.random_range(60_000..6 * HOUR_MS)).max(floor));
                planted.out_of_order = true;
            }
            _ => {}
        }
        if c.timeline.is_some() && !planted.future {
            planted.stale = !timestamp_valid(row.timestamp, now);
        }
        (row, planted)
    }

    fn duplicate(&mut self) -> Option<(Transaction, Planted)> {
        if self.recent.is_empty() {
            return None;
        }
        let (original, planted) = self.recent[self.rng.random_range(0..self.recent.len())].clone();
        if self.rng.random_bool(0.5) {
            return Some((original, planted));
        }
        // Same id, different payload: a retry that changed its amount and time.
        let mut changed = self.normal_row();
        changed.transaction_id = original.transaction_id;
        let planted = Planted { empty_transaction_id: planted.empty_transaction_id, ..Planted::default() };
        Some((changed, planted))
    }

    fn garbage(&mut self) -> Garbage {
        match self.rng.random_range(0..4) {
            0 => Garbage::BadMagicByte,
            1 => Garbage::UnknownSchemaId,
            2 => Garbage::TruncatedBody,
            _ => Garbage::TruncatedHeader,
        }
    }

    /// The next planted fraud row, if a campaign is running or this slot starts one.
    fn fraud_row(&mut self) -> Option<(Transaction, FraudPattern)> {
        let planter = self.fraud.as_mut()?;
        let row = match planter.pending() {
            Some(row) => row,
            None if planter.starts() => {
                let user = planter.pick_victim(self.users.len());
                let state = &self.users[user];
                let (reference_ms, bounds) = match self.config.timeline {
                    Some(t) => (t.start_ms + t.step_ms * self.emitted as i64, None),
                    None => (
                        state.clock_ms,
                        Some((self.config.now_ms - 23 * HOUR_MS, self.config.now_ms - 60_000)),
                    ),
                };
                let victim = Victim {
                    user,
                    typical_cents: state.typical_cents,
                    home_currency: state.home_currency,
                    reference_ms,
                };
                let first = planter.campaign(victim, &CURRENCIES, bounds);
                if let (Some(takeover), Some(logins)) = (planter.take_takeover(), self.logins.as_mut()) {
                    logins.takeover(takeover);
                }
                first
            }
            None => return None,
        };
        let FraudRow { user, timestamp, cents, currency, pattern } = row;
        if self.config.timeline.is_none() {
            // Ordinary rows of the victim continue after the campaign.
            let clock = &mut self.users[user].clock_ms;
            *clock = (*clock).max(timestamp);
        }
        let channel = if pattern == FraudPattern::CardTesting { "web" } else { "mobile" };
        let metadata = BTreeMap::from([
            ("channel".to_owned(), channel.to_owned()),
            ("merchant".to_owned(), format!("m-{}", self.emitted.wrapping_mul(7_919) % 5_000)),
        ]);
        let row = Transaction {
            origin: None,
            timestamp: Some(timestamp),
            transaction_id: Some(format!("tx-{:x}-{:08}", self.config.seed, self.emitted)),
            amount: Some(Decimal::new(cents, 2)),
            currency: Some(currency.to_owned()),
            metadata: Some(metadata.into()),
            user_id: Some(format!("user-{user:05}")),
        };
        Some((row, pattern))
    }

    /// The config this generator was made with.
    pub fn config(&self) -> &GeneratorConfig {
        &self.config
    }
}

impl Iterator for Generator {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        if let Some((row, pattern)) = self.fraud_row() {
            self.emitted += 1;
            return Some(Event::Transaction(row, Planted { fraud: Some(pattern), ..Planted::default() }));
        }
        let event = if self.rng.random_bool(self.config.garbage_rate) {
            Event::Garbage(self.garbage())
        } else if let Some((row, planted)) =
            self.rng.random_bool(self.config.duplicate_rate).then(|| self.duplicate()).flatten()
        {
            Event::Transaction(row, planted)
        } else {
            let row = self.normal_row();
            let (mut row, mut planted) = self.plant(row);
            if let Some((pii, value)) = self.pii.as_mut().and_then(PiiPlanter::next_entry) {
                let metadata = row.metadata.get_or_insert_with(Default::default);
                std::sync::Arc::make_mut(metadata).insert(pii.key.to_owned(), value);
                planted.pii = Some(pii);
            }
            if self.recent.len() < 4_096 {
                self.recent.push((row.clone(), planted));
            } else {
                let slot = self.rng.random_range(0..self.recent.len());
                self.recent[slot] = (row.clone(), planted);
            }
            Event::Transaction(row, planted)
        };
        self.emitted += 1;
        Some(event)
    }
}
