//! Per-transaction fraud features over the user's event-time history (the reference version).
//!
//! Plain Rust over a bounded input: the incremental differential version must produce exactly
//! these values. Every definition, bound and null is stated in `docs/fraud-features.md`; in
//! short, for a row `r` of user `u` at time `t`:
//!
//! * **history**: the rows of `u` (null userId is one user, `""` another) that come *before*
//!   `r` in event-time order: the order of [`Transaction`]'s `Ord` (timestamp, then
//!   transactionId, amount, currency, metadata). Copies of one row are consecutive: the
//!   second copy has the first in its history. Rows without a timestamp have no place in
//!   event time: they are in nobody's history and get no features but their amount.
//! * **windows** `(t - W, t]` for W = 1 min, 1 h, 24 h: history rows with a timestamp greater
//!   than `t - W` (a row exactly W earlier is out). Counts count rows; sums add their non-null
//!   amounts (currency ignored), exactly in cents.
//! * **running statistics**: mean and population standard deviation of all history amounts.
//! * **last 6**: the 6 history rows just before `r` (fewer if there are fewer).
//! * **logins** (`fraud-features/2`): the user's logins in `(t - 30 min, t]` from the
//!   user-events stream, and the latest of them from a device or country the user never
//!   logged in from before ([`super::logins`]).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::logins::{Login, LoginTimeline};
use crate::dataflow::quality::rules::cents;
use crate::record::{Transaction, UserEvent};

/// One minute, in milliseconds.
pub const MINUTE_MS: i64 = 60_000;
/// One hour, in milliseconds.
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
/// One day, in milliseconds.
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// The window lengths, in the order of the count and sum fields.
pub const WINDOWS_MS: [i64; 3] = [MINUTE_MS, HOUR_MS, DAY_MS];
/// History rows that "the last 6" covers.
pub const LAST_ROWS: usize = 6;

/// The features of one transaction. `None` is a null: the feature is undefined for the row
/// (no timestamp, no history, no amount...), as `docs/fraud-features.md` says per field.
///
/// Equality, order and hash compare the floats bit for bit (`f64::to_bits`), so that features
/// can be differential data: two computations agree only if they give the very same numbers.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Features {
    /// The row's own amount, in currency units; null iff the amount is null.
    pub amount: Option<f64>,
    /// History rows (all earlier rows of the user); null iff the row has no timestamp.
    pub prior_count: Option<u64>,
    /// History rows in the last 1 min / 1 h / 24 h; null iff the row has no timestamp.
    pub count: [Option<u64>; 3],
    /// Sum of the non-null amounts of those rows (0 when none); null iff no timestamp.
    pub sum: [Option<f64>; 3],
    /// `(amount - mean) / std` over the history's non-null amounts (population std); null if
    /// the amount is null, fewer than 2 history amounts, std = 0, or on overflow.
    pub zscore: Option<f64>,
    /// `amount / avg`, avg the mean of the non-null amounts among the last 6 history rows;
    /// null if the amount is null, none of those rows has an amount, or avg <= 0.
    pub ratio_last6: Option<f64>,
    /// Whether no history row has this currency; null if the currency is null or `""`, or
    /// the row has no history (or no timestamp).
    pub new_currency: Option<bool>,
    /// Seconds since the history's last row (0 for a tie); null without history.
    pub since_previous_s: Option<f64>,
    /// Hour of day of the timestamp, UTC, 0 to 23; null iff no timestamp.
    pub hour: Option<u8>,
    /// The user's logins in `(t - 30 min, t]`; null iff no timestamp.
    #[serde(default)]
    pub logins_30m: Option<u64>,
    /// Seconds since the latest login in `(t - 30 min, t]` from a device the user had never
    /// logged in from before; null when there is none (or no timestamp).
    #[serde(default)]
    pub new_device_login_s: Option<f64>,
    /// As `new_device_login_s`, for a country the user had never logged in from.
    #[serde(default)]
    pub new_country_login_s: Option<f64>,
}

/// The fields as bits, for equality, order and hashing.
type FeatureBits = (
    Option<u64>,
    Option<u64>,
    [Option<u64>; 3],
    [Option<u64>; 3],
    Option<u64>,
    Option<u64>,
    Option<bool>,
    Option<u64>,
    Option<u8>,
    Option<u64>,
    Option<u64>,
    Option<u64>,
);

impl Features {
    fn bits(&self) -> FeatureBits {
        let bits = |x: Option<f64>| x.map(f64::to_bits);
        (
            bits(self.amount),
            self.prior_count,
            self.count,
            self.sum.map(bits),
            bits(self.zscore),
            bits(self.ratio_last6),
            self.new_currency,
            bits(self.since_previous_s),
            self.hour,
            self.logins_30m,
            bits(self.new_device_login_s),
            bits(self.new_country_login_s),
        )
    }
}

impl PartialEq for Features {
    fn eq(&self, other: &Features) -> bool {
        self.bits() == other.bits()
    }
}

impl Eq for Features {}

impl PartialOrd for Features {
    fn partial_cmp(&self, other: &Features) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Features {
    fn cmp(&self, other: &Features) -> std::cmp::Ordering {
        self.bits().cmp(&other.bits())
    }
}

impl std::hash::Hash for Features {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bits().hash(state);
    }
}

/// The features of every row of `rows`, in the same order, with the logins among `events`
/// (other user events are ignored). Deterministic: the result depends only on the multisets
/// of rows and events, not on their order (copies of a row get their copies' features in
/// input order, and copies are indistinguishable).
pub fn compute(rows: &[Transaction], events: &[UserEvent]) -> Vec<Features> {
    let mut out: Vec<Features> =
        rows.iter().map(|row| Features { amount: row.amount.map(units), ..Features::default() }).collect();
    let mut users: HashMap<Option<&str>, Vec<usize>> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        if row.timestamp.is_some() {
            users.entry(row.user_id.as_deref()).or_default().push(i);
        }
    }
    let mut logins: HashMap<String, Vec<Login>> = HashMap::new();
    for (user, login) in events.iter().filter_map(Login::of) {
        logins.entry(user).or_default().push(login);
    }
    for (user, mut history) in users {
        history.sort_by(|&a, &b| rows[a].cmp(&rows[b]).then(a.cmp(&b)));
        let timeline = match user.and_then(|u| logins.get(u)) {
            Some(logins) => LoginTimeline::new(logins.iter().map(|l| (l, 1))),
            None => LoginTimeline::empty(),
        };
        let mut at = history.iter();
        walk(history.iter().map(|&i| (&rows[i], 1)), &timeline, |_, features| {
            if let Some(&index) = at.next() {
                out[index] = features;
            }
        });
    }
    out
}

/// Walks one user's rows in event-time order (`rows` sorted by [`Transaction`]'s `Ord`, each
/// with its multiplicity, as a differential `reduce` sees them) and calls `emit(row, features)`
/// once per physical row, in order: copies of a row are consecutive physical rows, the later
/// with the earlier in its history. Rows without a timestamp get their amount only and are in
/// nobody's history. `logins` is the user's [`LoginTimeline`]. This is the whole definition;
/// [`compute`] and the incremental operator (`dataflow::quality::graph`) both call it.
pub fn walk<'a>(
    rows: impl IntoIterator<Item = (&'a Transaction, isize)>,
    logins: &LoginTimeline,
    mut emit: impl FnMut(&'a Transaction, Features),
) {
    let mut times: Vec<i64> = Vec::new();
    // prefix[k]: sum of the non-null cents of physical rows 0..k.
    let mut prefix: Vec<i128> = vec![0];
    let mut amounts: Vec<Option<i128>> = Vec::new();
    let mut starts = [0usize; 3];
    let mut running = Running::new();
    let mut currencies: HashSet<&str> = HashSet::new();
    for (row, copies) in rows {
        let amount = row.amount.map(cents);
        let Some(t) = row.timestamp else {
            for _ in 0..copies.max(0) {
                emit(row, Features { amount: amount.map(|c| c as f64 / 100.0), ..Features::default() });
            }
            continue;
        };
        let currency = row.currency.as_deref().filter(|c| !c.is_empty());
        for _ in 0..copies.max(0) {
            let k = times.len();
            let mut features = Features {
                amount: amount.map(|c| c as f64 / 100.0),
                prior_count: Some(k as u64),
                ..Features::default()
            };
            for (w, window) in WINDOWS_MS.iter().enumerate() {
                while starts[w] < k && times[starts[w]] <= t.saturating_sub(*window) {
                    starts[w] += 1;
                }
                features.count[w] = Some((k - starts[w]) as u64);
                features.sum[w] = Some((prefix[k] - prefix[starts[w]]) as f64 / 100.0);
            }
            features.zscore = amount.and_then(|x| running.zscore(x));
            let last = &amounts[k.saturating_sub(LAST_ROWS)..k];
            let (sum, n) = last.iter().flatten().fold((0i128, 0i128), |(s, n), c| (s + c, n + 1));
            features.ratio_last6 = match amount {
                Some(x) if n > 0 && sum > 0 => Some((x * n) as f64 / sum as f64),
                _ => None,
            };
            features.new_currency = currency.filter(|_| k > 0).map(|c| !currencies.contains(c));
            features.since_previous_s = (k > 0).then(|| (t - times[k - 1]) as f64 / 1000.0);
            features.hour = Some(t.div_euclid(HOUR_MS).rem_euclid(24) as u8);
            let login = logins.at(t);
            features.logins_30m = login.logins_30m;
            features.new_device_login_s = login.new_device_login_s;
            features.new_country_login_s = login.new_country_login_s;
            emit(row, features);
            if let Some(c) = currency {
                currencies.insert(c);
            }
            if let Some(x) = amount {
                running.add(x);
            }
            times.push(t);
            prefix.push(prefix[k] + amount.unwrap_or(0));
            amounts.push(amount);
        }
    }
}

/// An amount in currency units.
fn units(amount: rust_decimal::Decimal) -> f64 {
    cents(amount) as f64 / 100.0
}

/// Exact running sums of a user's amounts in cents: count, sum, sum of squares (`None` once
/// the squares overflow).
struct Running {
    n: i128,
    sum: i128,
    squares: Option<i128>,
}

impl Running {
    fn new() -> Running {
        Running { n: 0, sum: 0, squares: Some(0) }
    }

    fn add(&mut self, x: i128) {
        self.squares = self.squares.and_then(|s| s.checked_add(x.checked_mul(x)?));
        self.n += 1;
        self.sum += x;
    }

    /// `(x - mean) / std` = `(n*x - sum) / sqrt(n*squares - sum^2)`, exact up to the final
    /// division.
    fn zscore(&self, x: i128) -> Option<f64> {
        if self.n < 2 {
            return None;
        }
        let spread = self.n.checked_mul(self.squares?)?.checked_sub(self.sum.checked_mul(self.sum)?)?;
        if spread <= 0 {
            return None;
        }
        let numerator = self.n.checked_mul(x)?.checked_sub(self.sum)?;
        Some(numerator as f64 / (spread as f64).sqrt())
    }
}
