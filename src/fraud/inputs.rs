//! The model's input vector: each feature with its nulls filled and its scale tamed.
//!
//! Models see numbers only, so every [`Features`] field becomes one or two finite `f64`s by a
//! fixed rule (`docs/fraud-features.md`, "Model inputs"). The names are the model's feature
//! list: an artifact trained on another list is refused when loaded.

use super::features::Features;

/// Version of the feature definitions and this encoding; part of every artifact's feature
/// list check (change it whenever a definition or an encoding changes).
pub const FEATURE_SET: &str = "fraud-features/2";

/// Number of model inputs.
pub const INPUTS: usize = 18;

/// The model inputs, in vector order.
pub const FEATURE_NAMES: [&str; INPUTS] = [
    "amount_log",
    "prior_count_log",
    "count_1m_log",
    "count_1h_log",
    "count_24h_log",
    "sum_1m_log",
    "sum_1h_log",
    "sum_24h_log",
    "zscore",
    "ratio_last6_log",
    "new_currency",
    "since_previous_log",
    "hour",
    "night",
    "logins_30m_log",
    "new_device_login",
    "new_country_login",
    "new_login_age_log",
];

/// Bounds of the z-score input.
const ZSCORE_RANGE: (f64, f64) = (-10.0, 50.0);
/// Bounds of the last-6 ratio before its logarithm.
const RATIO_RANGE: (f64, f64) = (1e-3, 1e3);
/// Seconds since the previous row assumed for a row without history: one day.
const NO_PREVIOUS_S: f64 = 86_400.0;
/// Hour assumed for a row without timestamp.
const NO_HOUR: f64 = 12.0;
/// Seconds since a new-device or new-country login assumed when there is none in the window:
/// the window's length (30 minutes).
const NO_NEW_LOGIN_S: f64 = (super::logins::LOGIN_WINDOW_MS / 1000) as f64;
/// Hours `[0, NIGHT_END)` UTC count as night.
const NIGHT_END: u8 = 6;

/// `ln(1 + max(x, 0))`.
fn log1p_pos(x: f64) -> f64 {
    x.max(0.0).ln_1p()
}

/// The input vector of `f`, in [`FEATURE_NAMES`] order. Always finite.
pub fn vector(f: &Features) -> [f64; INPUTS] {
    let count = |c: Option<u64>| log1p_pos(c.unwrap_or(0) as f64);
    let sum = |s: Option<f64>| log1p_pos(s.unwrap_or(0.0));
    let hour = f.hour.map_or(NO_HOUR, f64::from);
    [
        log1p_pos(f.amount.unwrap_or(0.0)),
        count(f.prior_count),
        count(f.count[0]),
        count(f.count[1]),
        count(f.count[2]),
        sum(f.sum[0]),
        sum(f.sum[1]),
        sum(f.sum[2]),
        f.zscore.map_or(0.0, |z| z.clamp(ZSCORE_RANGE.0, ZSCORE_RANGE.1)),
        f.ratio_last6.map_or(0.0, |r| r.clamp(RATIO_RANGE.0, RATIO_RANGE.1).ln()),
        f64::from(u8::from(f.new_currency.unwrap_or(false))),
        log1p_pos(f.since_previous_s.unwrap_or(NO_PREVIOUS_S)),
        hour,
        f64::from(u8::from(f.hour.is_some_and(|h| h < NIGHT_END))),
        count(f.logins_30m),
        f64::from(u8::from(f.new_device_login_s.is_some())),
        f64::from(u8::from(f.new_country_login_s.is_some())),
        log1p_pos(new_login_age(f)),
    ]
}

/// Seconds since the latest new-device or new-country login in the window (the smaller of
/// the two), or the window's length when there is none.
fn new_login_age(f: &Features) -> f64 {
    match (f.new_device_login_s, f.new_country_login_s) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => NO_NEW_LOGIN_S,
    }
}

/// The feature list as owned strings, the set's version first (`fraud-features/2`, then
/// the names): what artifacts record and loading compares.
pub fn feature_list() -> Vec<String> {
    std::iter::once(FEATURE_SET).chain(FEATURE_NAMES).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_are_filled_and_everything_is_finite() {
        let empty = vector(&Features::default());
        assert!(empty.iter().all(|x| x.is_finite()));
        assert_eq!(empty[11], NO_PREVIOUS_S.ln_1p());
        assert_eq!((empty[12], empty[13]), (NO_HOUR, 0.0));
        assert_eq!((empty[14], empty[15], empty[16]), (0.0, 0.0, 0.0));
        assert_eq!(empty[17], 1800f64.ln_1p(), "no new login: the window's 30 minutes");
        let login = Features {
            logins_30m: Some(2),
            new_device_login_s: Some(600.0),
            new_country_login_s: Some(0.0),
            ..Features::default()
        };
        let v = vector(&login);
        assert_eq!((v[14], v[15], v[16], v[17]), (2f64.ln_1p(), 1.0, 1.0, 0.0));
        let device_only = vector(&Features { new_country_login_s: None, ..login });
        assert_eq!((device_only[16], device_only[17]), (0.0, 600f64.ln_1p()));
        let wild = Features {
            amount: Some(-5.0),
            zscore: Some(1e300),
            ratio_last6: Some(1e-300),
            hour: Some(3),
            new_currency: Some(true),
            ..Features::default()
        };
        let v = vector(&wild);
        assert!(v.iter().all(|x| x.is_finite()));
        assert_eq!((v[0], v[8], v[10], v[13]), (0.0, 50.0, 1.0, 1.0));
        assert_eq!(v[9], RATIO_RANGE.0.ln());
    }

    #[test]
    fn the_list_names_the_set_and_every_input() {
        let list = feature_list();
        assert_eq!(list.len(), INPUTS + 1);
        assert_eq!(list[0], FEATURE_SET);
    }
}
