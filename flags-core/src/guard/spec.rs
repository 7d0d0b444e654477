//! From a flag definition's `guard` and `plan` (the model's
//! [`GuardSpec`] and [`PlanSpec`]) to the guard's [`GuardConfig`] and
//! [`Plan`], with the same checks the builders make.

use std::time::Duration;

use super::config::{GuardConfig, LatencyRule};
use super::error::GuardConfigError;
use super::new_arm::NewArm;
use super::plan::Plan;
use crate::model::{Feature, GuardSpec, LatencySpec, PlanSpec};

impl GuardSpec {
    /// The guard settings this spec describes: the defaults, with what it sets.
    ///
    /// ```
    /// use flags_core::model::GuardSpec;
    ///
    /// let spec = GuardSpec { min_requests: Some(200), ..GuardSpec::default() };
    /// let config = spec.config().unwrap();
    /// assert_eq!(config.settings().min_requests, 200);
    /// assert_eq!(config.settings().alpha, 1e-6); // the default
    /// let bad = GuardSpec { alpha: Some(2.0), ..GuardSpec::default() };
    /// assert_eq!(bad.config().unwrap_err().field, "alpha");
    /// ```
    ///
    /// # Errors
    /// The first setting that cannot work, by its TOML key.
    pub fn config(&self) -> Result<GuardConfig, GuardConfigError> {
        let mut c = GuardConfig::new();
        if let Some(n) = self.min_requests {
            c = c.min_requests(n);
        }
        if let Some(d) = self.min_difference {
            c = c.min_difference(d)?;
        }
        if let Some(r) = self.max_error_rate {
            c = c.max_error_rate(r)?;
        }
        if let Some(a) = self.alpha {
            c = c.alpha(a)?;
        }
        if self.window_ms.is_some() || self.bucket_ms.is_some() {
            let span = self
                .window_ms
                .map_or(c.settings().window, Duration::from_millis);
            let bucket = self
                .bucket_ms
                .map_or(c.settings().bucket, Duration::from_millis);
            c = c.window(span, bucket)?;
        }
        if let Some(v) = &self.variant {
            if v.is_empty() {
                return Err(GuardConfigError::new(
                    "variant",
                    "a variant name cannot be empty",
                ));
            }
            c = c.arm(NewArm::Variant(v.clone()));
        }
        if let Some(l) = &self.latency {
            c = c.latency(l.rule()?);
        }
        Ok(c)
    }
}

impl LatencySpec {
    /// The latency rule this spec describes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_core::model::LatencySpec;
    ///
    /// let spec = LatencySpec { min_increase_ms: Some(20), ..LatencySpec::default() };
    /// let rule = spec.rule().unwrap();
    /// assert_eq!(rule.settings().min_increase, Duration::from_millis(20));
    /// assert_eq!(rule.settings().factor, 1.5); // the default
    /// ```
    ///
    /// # Errors
    /// The first setting that cannot work.
    pub fn rule(&self) -> Result<LatencyRule, GuardConfigError> {
        let mut r = LatencyRule::new();
        if let Some(q) = self.quantile {
            r = r.quantile(q)?;
        }
        if let Some(f) = self.factor {
            r = r.factor(f)?;
        }
        if let Some(ms) = self.min_increase_ms {
            r = r.min_increase(Duration::from_millis(ms));
        }
        Ok(r)
    }
}

impl PlanSpec {
    /// The plan these steps describe.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_core::model::PlanSpec;
    ///
    /// let plan = PlanSpec::from_steps([(10, 3_600_000), (100, 0)]).plan().unwrap();
    /// assert_eq!(plan.steps()[0].min_duration, Duration::from_secs(3600));
    /// assert!(PlanSpec::from_steps([(50, 0), (10, 0)]).plan().is_err());
    /// ```
    ///
    /// # Errors
    /// Without steps, or when a percentage is out of 1 to 100 or does not go up.
    pub fn plan(&self) -> Result<Plan, GuardConfigError> {
        if self.steps.is_empty() {
            return Err(GuardConfigError::new(
                "plan",
                "a plan needs at least one step",
            ));
        }
        self.steps.iter().try_fold(Plan::new(), |plan, s| {
            plan.step(s.percent, Duration::from_millis(s.min_duration_ms))
        })
    }
}

impl Plan {
    /// The spec of this plan, to put in a flag's definition.
    ///
    /// ```
    /// use flags_core::guard::Plan;
    ///
    /// let spec = Plan::gradual().to_spec();
    /// assert_eq!((spec.steps[0].percent, spec.steps[0].min_duration_ms), (5, 86_400_000));
    /// assert_eq!(spec.plan().unwrap(), Plan::gradual());
    /// ```
    pub fn to_spec(&self) -> PlanSpec {
        PlanSpec::from_steps(self.steps().iter().map(|s| {
            (
                s.percent,
                u64::try_from(s.min_duration.as_millis()).unwrap_or(u64::MAX),
            )
        }))
    }
}

/// What a definition asks of the guard: its settings and its plan (a plan
/// alone means the default settings). `None` when it asks nothing.
pub fn opt_in(f: &Feature) -> Option<Result<(GuardConfig, Option<Plan>), GuardConfigError>> {
    if f.guard.is_none() && f.plan.is_none() {
        return None;
    }
    let config = match &f.guard {
        Some(spec) => spec.config(),
        None => Ok(GuardConfig::new()),
    };
    let plan = f.plan.as_deref().map(PlanSpec::plan).transpose();
    Some(config.and_then(|c| plan.map(|p| (c, p))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_spec_is_the_defaults() {
        assert_eq!(GuardSpec::default().config().unwrap(), GuardConfig::new());
    }

    #[test]
    fn every_setting_is_taken() {
        let spec = GuardSpec {
            min_requests: Some(200),
            min_difference: Some(0.02),
            max_error_rate: Some(0.1),
            alpha: Some(1e-4),
            window_ms: Some(60_000),
            bucket_ms: Some(1_000),
            variant: Some("blue".into()),
            latency: Some(LatencySpec {
                quantile: Some(0.99),
                factor: Some(2.0),
                min_increase_ms: Some(20),
            }),
        };
        let c = spec.config().unwrap();
        assert_eq!(c.settings().min_requests, 200);
        assert_eq!(c.settings().min_difference, 0.02);
        assert_eq!(c.settings().max_error_rate, 0.1);
        assert_eq!(c.settings().alpha, 1e-4);
        assert_eq!(c.settings().window, Duration::from_secs(60));
        assert_eq!(c.settings().bucket, Duration::from_secs(1));
        assert_eq!(c.settings().arm, NewArm::Variant("blue".into()));
        let l = c.settings().latency.unwrap();
        assert_eq!(
            (l.quantile, l.factor, l.min_increase),
            (0.99, 2.0, Duration::from_millis(20))
        );
    }

    #[test]
    fn bad_settings_name_their_key() {
        let spec = GuardSpec {
            max_error_rate: Some(1.5),
            ..GuardSpec::default()
        };
        assert_eq!(spec.config().unwrap_err().field, "max_error_rate");
        let spec = GuardSpec {
            bucket_ms: Some(10),
            ..GuardSpec::default()
        };
        assert_eq!(spec.config().unwrap_err().field, "bucket");
        let e = PlanSpec::from_steps([(25, 0), (5, 0)]).plan().unwrap_err();
        assert!(e.message.contains("must go up"), "{e}");
        let e = PlanSpec::default().plan().unwrap_err();
        assert!(e.message.contains("at least one step"), "{e}");
    }

    #[test]
    fn a_plan_round_trips_through_its_spec() {
        assert_eq!(Plan::gradual().to_spec().plan().unwrap(), Plan::gradual());
    }

    #[test]
    fn a_plan_alone_opts_in_with_the_defaults() {
        let f = Feature {
            plan: Some(Box::new(Plan::gradual().to_spec())),
            ..Feature::default()
        };
        let (config, plan) = opt_in(&f).unwrap().unwrap();
        assert_eq!(config, GuardConfig::new());
        assert_eq!(plan, Some(Plan::gradual()));
        assert!(opt_in(&Feature::default()).is_none());
    }
}
