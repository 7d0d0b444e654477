//! What the guard concluded about a flag, with the figures behind it.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::metrics::LATENCY_BUCKETS_MS;

/// The guard's conclusion about one flag at one check.
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::guard::{
///     FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts, Side, Status,
/// };
/// use flags_middleware::Flags;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
/// let (counts, clock) = (ManualCounts::new(), ManualClock::new());
/// let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags))
///     .clock(clock.clone())
///     .watch("f", GuardConfig::new())
///     .build();
/// let status = |g: &Guard| g.snapshot().flag("f").unwrap().last.as_ref().unwrap().status;
/// guard.check().await;
/// assert_eq!(status(&guard), Status::NoData);
/// // Both arms fail 1% of the time.
/// counts.add("f", Side::New, 100, 1);
/// counts.add("f", Side::Old, 1_900, 19);
/// clock.advance(Duration::from_secs(5));
/// guard.check().await;
/// assert_eq!(status(&guard), Status::Healthy);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Too little new-arm traffic in the window to judge.
    NoData,
    /// Nothing against the new arm.
    Healthy,
    /// The new arm looks worse than allowed, without the evidence for a
    /// kill yet: a plan does not advance.
    Watching,
    /// The new arm is worse with the configured confidence: kill the flag.
    Kill,
}

/// Which rule a finding is about.
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::guard::detect::Criterion;
/// use flags_middleware::guard::{
///     EventKind, FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts, Side,
/// };
/// use flags_middleware::Flags;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
/// # let (counts, clock) = (ManualCounts::new(), ManualClock::new());
/// # let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags))
/// #     .clock(clock.clone()).watch("f", GuardConfig::new()).build();
/// guard.check().await;
/// // The new arm fails 30% of its requests, the old arm 0.5%.
/// counts.add("f", Side::New, 50, 15);
/// counts.add("f", Side::Old, 950, 5);
/// clock.advance(Duration::from_secs(5));
/// let events = guard.check().await;
/// let EventKind::Killed { finding } = &events[0].kind else { panic!("{events:?}") };
/// assert_eq!(finding.criterion, Criterion::ErrorRate);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// The new arm's error rate against the old arm's.
    ErrorRate,
    /// The new arm's error rate against the fixed ceiling.
    MaxErrorRate,
    /// A latency quantile of the new arm against the old arm's.
    Latency,
}

/// The traffic of one arm over the period a figure covers.
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::guard::{
///     FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts, Side,
/// };
/// use flags_middleware::Flags;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
/// # let (counts, clock) = (ManualCounts::new(), ManualClock::new());
/// # let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags))
/// #     .clock(clock.clone()).watch("f", GuardConfig::new()).build();
/// guard.check().await;
/// counts.add("f", Side::New, 40, 2);
/// clock.advance(Duration::from_secs(5));
/// guard.check().await;
/// let new = guard.snapshot().flag("f").unwrap().window.new;
/// assert_eq!((new.requests, new.bad), (40, 2));
/// assert_eq!(new.rate, 0.05);
/// assert_eq!(new.latency_ms, None);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ArmFigures {
    /// Requests served.
    pub requests: u64,
    /// Failed requests (for the latency rule: slow requests).
    pub bad: u64,
    /// `bad / requests`.
    pub rate: f64,
    /// The configured latency quantile, as the upper bound of its histogram
    /// bin, in ms; `None` without a latency rule or without data.
    pub latency_ms: Option<u64>,
}

impl ArmFigures {
    pub(crate) fn new(requests: u64, bad: u64) -> ArmFigures {
        ArmFigures {
            requests,
            bad,
            rate: if requests == 0 {
                0.0
            } else {
                bad as f64 / requests as f64
            },
            latency_ms: None,
        }
    }
}

/// Evidence against the new arm, as found over the most telling recent
/// period of the window.
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::guard::{
///     EventKind, FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts, Side,
/// };
/// use flags_middleware::Flags;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
/// # let (counts, clock) = (ManualCounts::new(), ManualClock::new());
/// # let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags))
/// #     .clock(clock.clone()).watch("f", GuardConfig::new()).build();
/// guard.check().await;
/// counts.add("f", Side::New, 50, 15);
/// counts.add("f", Side::Old, 950, 5);
/// clock.advance(Duration::from_secs(5));
/// let events = guard.check().await;
/// let EventKind::Killed { finding } = &events[0].kind else { panic!("{events:?}") };
/// assert_eq!((finding.new.requests, finding.new.bad), (50, 15));
/// assert!(finding.p_value < 0.001);
/// assert_eq!(
///     finding.message(),
///     "guard: new arm 30.0% errors over 50 requests vs 0.5% over 950, p < 0.001"
/// );
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// The rule.
    pub criterion: Criterion,
    /// The new arm over the period.
    pub new: ArmFigures,
    /// The old arm over the period.
    pub old: ArmFigures,
    /// The always-valid p-value (see [`stats`](super::stats)).
    pub p_value: f64,
    /// How far back the period reaches, in ms (whole buckets).
    pub period_ms: u64,
    /// The error-rate ceiling ([`Criterion::MaxErrorRate`]), the latency
    /// threshold in ms ([`Criterion::Latency`]).
    pub threshold: Option<f64>,
    /// The quantile compared ([`Criterion::Latency`]).
    pub quantile: Option<f64>,
}

impl Finding {
    /// The one-line summary used in audit entries and log events, e.g.
    /// `guard: new arm 31.2% errors over 412 requests vs 0.4% over 7,803, p < 0.001`.
    ///
    /// At 100% there is no old arm, and the ceiling is the rule:
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::{
    ///     EventKind, FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts, Side,
    /// };
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 100\n", "flags.toml").unwrap();
    /// # let (counts, clock) = (ManualCounts::new(), ManualClock::new());
    /// # let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags))
    /// #     .clock(clock.clone()).watch("f", GuardConfig::new()).build();
    /// guard.check().await;
    /// counts.add("f", Side::New, 400, 200);
    /// clock.advance(Duration::from_secs(5));
    /// let events = guard.check().await;
    /// let EventKind::Killed { finding } = &events[0].kind else { panic!("{events:?}") };
    /// assert_eq!(
    ///     finding.message(),
    ///     "guard: new arm 50.0% errors over 400 requests, above the 25.0% ceiling, p < 0.001"
    /// );
    /// # }
    /// ```
    pub fn message(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = p_value(self.p_value);
        match self.criterion {
            Criterion::ErrorRate => write!(
                f,
                "guard: new arm {} errors over {} requests vs {} over {}, {p}",
                percent(self.new.rate),
                thousands(self.new.requests),
                percent(self.old.rate),
                thousands(self.old.requests),
            ),
            Criterion::MaxErrorRate => write!(
                f,
                "guard: new arm {} errors over {} requests, above the {} ceiling, {p}",
                percent(self.new.rate),
                thousands(self.new.requests),
                percent(self.threshold.unwrap_or(0.0)),
            ),
            Criterion::Latency => {
                let q = (self.quantile.unwrap_or(0.95) * 100.0).round();
                write!(
                    f,
                    "guard: new arm p{q} {} over {} requests vs {} over {}, {p}",
                    latency(self.new.latency_ms),
                    thousands(self.new.requests),
                    latency(self.old.latency_ms),
                    thousands(self.old.requests),
                )
            }
        }
    }
}

/// Both arms over the whole window.
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::guard::{
///     FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts, Side,
/// };
/// use flags_middleware::Flags;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
/// let (counts, clock) = (ManualCounts::new(), ManualClock::new());
/// let config = GuardConfig::new()
///     .window(Duration::from_secs(600), Duration::from_secs(10))
///     .unwrap();
/// let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags))
///     .clock(clock.clone())
///     .watch("f", config)
///     .build();
/// guard.check().await;
/// counts.add("f", Side::New, 30, 0);
/// counts.add("f", Side::Old, 570, 3);
/// clock.advance(Duration::from_secs(10));
/// guard.check().await;
/// let window = guard.snapshot().flag("f").unwrap().window;
/// assert_eq!((window.new.requests, window.old.requests, window.old.bad), (30, 570, 3));
/// assert_eq!(window.span_ms, 600_000);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct WindowFigures {
    /// The new arm.
    pub new: ArmFigures,
    /// The old arm.
    pub old: ArmFigures,
    /// The window's span, in ms.
    pub span_ms: u64,
}

/// The result of one check of one flag, as the guard's
/// [snapshot](crate::guard::run::FlagSnapshot::last) shows it.
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::guard::{
///     FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts, Side, Status,
/// };
/// use flags_middleware::Flags;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
/// # let (counts, clock) = (ManualCounts::new(), ManualClock::new());
/// # let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags))
/// #     .clock(clock.clone()).watch("f", GuardConfig::new()).build();
/// guard.check().await;
/// counts.add("f", Side::New, 50, 15);
/// counts.add("f", Side::Old, 950, 5);
/// clock.advance(Duration::from_secs(5));
/// let killed = guard.check().await;
/// let verdict = guard.snapshot().flag("f").unwrap().last.clone().unwrap();
/// assert_eq!(verdict.status, Status::Kill);
/// assert_eq!(verdict.kill_message().as_deref(), Some(killed[0].message.as_str()));
/// assert_eq!(verdict.finding.unwrap().old.requests, 950);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Verdict {
    /// When, in ms since the Unix epoch.
    pub at_ms: u64,
    /// The conclusion.
    pub status: Status,
    /// Error counts over the whole window.
    pub window: WindowFigures,
    /// For [`Status::Kill`], what triggered it; for [`Status::Watching`],
    /// the figures that hold the flag back.
    pub finding: Option<Finding>,
}

impl Verdict {
    /// The kill message, when the verdict is a kill.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::{FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts, Side};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// # let (counts, clock) = (ManualCounts::new(), ManualClock::new());
    /// # let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags))
    /// #     .clock(clock.clone()).watch("f", GuardConfig::new()).build();
    /// let kill_message = |g: &Guard| g.snapshot().flag("f").unwrap().last.as_ref().unwrap().kill_message();
    /// guard.check().await;
    /// assert_eq!(kill_message(&guard), None); // no data yet
    /// counts.add("f", Side::New, 50, 15);
    /// counts.add("f", Side::Old, 950, 5);
    /// clock.advance(Duration::from_secs(5));
    /// guard.check().await;
    /// assert!(kill_message(&guard).unwrap().starts_with("guard: new arm 30.0% errors"));
    /// # }
    /// ```
    pub fn kill_message(&self) -> Option<String> {
        match (&self.status, &self.finding) {
            (Status::Kill, Some(f)) => Some(f.message()),
            _ => None,
        }
    }
}

/// `0.4%`, `31.2%`, `0.04%` (two decimals below 0.1% so small rates are not
/// shown as zero).
pub(crate) fn percent(rate: f64) -> String {
    let pct = rate * 100.0;
    if pct > 0.0 && pct < 0.1 {
        format!("{pct:.2}%")
    } else {
        format!("{pct:.1}%")
    }
}

/// `7,803`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `p < 0.001` below a thousandth (the guard's kills are all there with the
/// default α), `p = 0.012` above.
pub(crate) fn p_value(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".to_owned()
    } else {
        format!("p = {p:.3}")
    }
}

/// `200 ms`, `1.5 s`, `> 60 s` (the overflow bin).
fn latency(ms: Option<u64>) -> String {
    match ms {
        None => "n/a".to_owned(),
        Some(u64::MAX) => {
            let last = LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.len() - 1];
            format!("> {} s", last / 1000)
        }
        Some(ms) if ms < 1000 => format!("{ms} ms"),
        Some(ms) => format!("{} s", Duration::from_millis(ms).as_secs_f64()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(412), "412");
        assert_eq!(thousands(7803), "7,803");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(percent(0.312), "31.2%");
        assert_eq!(percent(0.004), "0.4%");
        assert_eq!(percent(0.0004), "0.04%");
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(p_value(1e-12), "p < 0.001");
        assert_eq!(p_value(0.0123), "p = 0.012");
        assert_eq!(latency(Some(150)), "150 ms");
        assert_eq!(latency(Some(1500)), "1.5 s");
        assert_eq!(latency(Some(u64::MAX)), "> 10 s");
    }

    #[test]
    fn error_rate_message_reads_as_documented() {
        let f = Finding {
            criterion: Criterion::ErrorRate,
            new: ArmFigures::new(412, 128),
            old: ArmFigures::new(7803, 31),
            p_value: 1e-30,
            period_ms: 40_000,
            threshold: None,
            quantile: None,
        };
        assert_eq!(
            f.message(),
            "guard: new arm 31.1% errors over 412 requests vs 0.4% over 7,803, p < 0.001"
        );
    }

    #[test]
    fn ceiling_and_latency_messages() {
        let mut f = Finding {
            criterion: Criterion::MaxErrorRate,
            new: ArmFigures::new(200, 80),
            old: ArmFigures::default(),
            p_value: 1e-9,
            period_ms: 5_000,
            threshold: Some(0.25),
            quantile: None,
        };
        assert_eq!(
            f.message(),
            "guard: new arm 40.0% errors over 200 requests, above the 25.0% ceiling, p < 0.001"
        );
        f.criterion = Criterion::Latency;
        f.new.latency_ms = Some(1500);
        f.old = ArmFigures {
            latency_ms: Some(200),
            ..ArmFigures::new(7803, 0)
        };
        f.quantile = Some(0.95);
        assert_eq!(
            f.message(),
            "guard: new arm p95 1.5 s over 200 requests vs 200 ms over 7,803, p < 0.001"
        );
    }
}
