//! The hygiene reports of a [`Flags`] handle: unknown flags asked for, the
//! inventory, stale flags and dead code (see [`crate::hygiene`]).

use std::time::Instant;

use crate::change::CommitError;
use crate::edit::{Edit, EditError};
use crate::hygiene::StaleReason;
use crate::hygiene::{
    self, DeadCode, FlagEvaluations, FlagInventory, StaleFlag, StaleInputs, StaleOptions,
    UnknownFlags,
};
use crate::store::StoreError;
use crate::Flags;

/// At most this many audit entries are read to find each flag's last change.
const AUDIT_SCAN_LIMIT: usize = 100_000;
/// Entries read at a time.
const AUDIT_SCAN_PAGE: usize = 10_000;

/// Hygiene.
impl Flags {
    /// The flags asked for that the served flags do not define, counted per
    /// name (at most [`DEFAULT_UNKNOWN_CAPACITY`](hygiene::DEFAULT_UNKNOWN_CAPACITY)
    /// names; the rest are counted together as `other`). Each name is logged
    /// once, at WARN, the first time it is asked for.
    ///
    /// ```
    /// use flags_middleware::{Context, Flags};
    ///
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// assert!(!flags.is_enabled("new_chekout_flow", &Context::new()));
    /// let unknown = flags.unknown_flags();
    /// assert_eq!((unknown.flags[0].name.as_str(), unknown.flags[0].count), ("new_chekout_flow", 1));
    /// ```
    pub fn unknown_flags(&self) -> UnknownFlags {
        self.tracker().unknown().report()
    }

    /// Where and when `flag` was evaluated through the layer: requests per
    /// route template, first and last evaluation.
    ///
    /// ```
    /// # use axum::{body::Body, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{FlagContext, Flags, FlagsLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let ask = get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() });
    /// let app = Router::new()
    ///     .route("/checkout", ask.clone())
    ///     .route("/cart/{id}", ask)
    ///     .layer(FlagsLayer::new(flags.clone()));
    /// for path in ["/checkout", "/cart/1", "/cart/2"] {
    ///     app.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
    /// }
    /// let usage = flags.evaluations("new_checkout_flow");
    /// let routes: Vec<(&str, u64)> = usage.routes.iter().map(|(r, n)| (r.as_str(), *n)).collect();
    /// assert_eq!(routes, [("/cart/{id}", 2), ("/checkout", 1)]);
    /// # }
    /// ```
    pub fn evaluations(&self, flag: &str) -> FlagEvaluations {
        self.tracker().usage().of(flag)
    }

    /// Every flag defined, referred to by the code, or evaluated: its call
    /// sites, the routes that asked for it and how often, first and last
    /// evaluation, and requests per arm served. Sorted by name.
    ///
    /// ```
    /// use flags_middleware::Flags;
    ///
    /// flags_middleware::flag!(DARK_MODE = "dark_mode");
    /// let flags = Flags::from_toml_str("[dark_mode]\n", "flags.toml").unwrap();
    /// let dark = flags.inventory().into_iter().find(|f| f.name == "dark_mode").unwrap();
    /// assert!(dark.defined);
    /// assert_eq!(dark.call_sites[0].item, "DARK_MODE");
    /// assert!(dark.routes.is_empty()); // no request asked yet
    /// ```
    pub fn inventory(&self) -> Vec<FlagInventory> {
        hygiene::inventory(
            &self.snapshot(),
            self.tracker(),
            &self.metrics().snapshot(),
            &self.tracker().shared().fleet(),
        )
    }

    /// The defined flags that are potentially stale: serving one arm to
    /// everyone (killed, or on for everyone) for longer than the threshold
    /// since their last change in the audit log, not evaluated for that
    /// long, not referred to by any gate or typed key (when the program
    /// registers any), or marked `stale`
    /// (Unleash's field). Each comes with its call sites, the code to delete.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use flags_middleware::{hygiene::{StaleOptions, StaleReason}, Flags};
    ///
    /// let flags = Flags::from_toml_str("[old]\nenabled = false\n", "flags.toml").unwrap();
    /// let in_40_days = chrono::Utc::now() + chrono::Duration::days(40);
    /// let stale = flags.stale_flags(StaleOptions::new().at(in_40_days)).await.unwrap();
    /// assert!(matches!(stale[0].reasons[0], StaleReason::OneArm { .. }));
    /// # }
    /// ```
    ///
    /// # Errors
    /// When the audit log cannot be read.
    pub async fn stale_flags(&self, options: StaleOptions) -> Result<Vec<StaleFlag>, StoreError> {
        // Large pages: each page reads the log's end again (a file from its
        // end, a database by offset), and each has its own time limit.
        let mut audit = Vec::new();
        while audit.len() < AUDIT_SCAN_LIMIT {
            let page = self.audit_page(audit.len(), AUDIT_SCAN_PAGE).await?;
            let done = page.len() < AUDIT_SCAN_PAGE;
            audit.extend(page);
            if done {
                break;
            }
        }
        let inventory = self.inventory();
        let inputs = StaleInputs {
            now: options.now(),
            threshold: options.threshold(),
            started: self.tracker().usage().started(),
            audit: &audit,
            inventory: &inventory,
        };
        Ok(hygiene::stale(&self.snapshot(), &inputs))
    }

    /// Sets Unleash's `stale` field on every flag [`Flags::stale_flags`]
    /// reports that is not marked yet, each as one change committed on
    /// behalf of `actor` (persisted and audited like any other); returns
    /// the names marked. Unleash and its SDKs show the mark; the stale
    /// report keeps listing the flag (`marked_stale`) until it is deleted.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use flags_middleware::{hygiene::StaleOptions, Flags};
    ///
    /// let flags = Flags::from_toml_str("[old]\nenabled = false\n[new]\nrollout = 5\n", "flags.toml").unwrap();
    /// let in_40_days = chrono::Utc::now() + chrono::Duration::days(40);
    /// let marked = flags.mark_stale("ops", StaleOptions::new().at(in_40_days)).await.unwrap();
    /// assert!(marked.contains(&"old".to_owned()));
    /// assert!(flags.snapshot().feature("old").unwrap().stale);
    /// # }
    /// ```
    ///
    /// # Errors
    /// When the audit log cannot be read or a change cannot be committed
    /// (the flags marked before it stay marked).
    pub async fn mark_stale(
        &self,
        actor: &str,
        options: StaleOptions,
    ) -> Result<Vec<String>, CommitError> {
        let stale = self
            .stale_flags(options)
            .await
            .map_err(CommitError::Store)?;
        let mut marked = Vec::new();
        for flag in stale {
            if flag.reasons.contains(&StaleReason::MarkedStale) {
                continue;
            }
            // Applied to the definition live when its turn comes, so a
            // change made meanwhile (a kill) is kept, not undone.
            match self
                .writer(actor)
                .commit(Edit::mark_stale(&flag.name))
                .await
            {
                Ok(done) if done.changed => marked.push(flag.name),
                Ok(_) => {}
                // Deleted meanwhile: nothing to mark.
                Err(CommitError::Edit(EditError::NoSuchFlag { .. })) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(marked)
    }

    /// The flags the code refers to whose definition is on for everyone,
    /// with the fallback (and variant) functions no request reaches any more.
    ///
    /// ```
    /// use flags_middleware::{feature_gated, FlagContext, Flags};
    ///
    /// #[feature_gated("new_pricing", fallback = price_legacy)]
    /// async fn price(flags: &FlagContext) -> u32 { 90 }
    /// async fn price_legacy(flags: &FlagContext) -> u32 { 100 }
    ///
    /// let flags = Flags::from_toml_str("[new_pricing]\nrollout = 100\n", "flags.toml").unwrap();
    /// let dead = flags.dead_code();
    /// assert_eq!(dead[0].deletable, ["price_legacy"]);
    /// ```
    pub fn dead_code(&self) -> Vec<DeadCode> {
        hygiene::dead_code(&self.snapshot())
    }

    /// With a store that shares evaluation times (PostgreSQL): writes this
    /// instance's last evaluation of each flag evaluated since, at most once
    /// per [`SHARE_INTERVAL`](hygiene::SHARE_INTERVAL) per flag, then reads
    /// every instance's, which [`Flags::inventory`] and
    /// [`Flags::stale_flags`] then use. Runs by itself every minute once the
    /// handle is served from such a store inside a tokio runtime; returns
    /// how many flags were written (0 for other stores).
    ///
    /// ```
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// assert_eq!(flags.share_last_seen().await.unwrap(), 0); // nothing to share with
    /// # }
    /// ```
    ///
    /// # Errors
    /// When the database cannot be reached (the times are written later).
    pub async fn share_last_seen(&self) -> Result<usize, StoreError> {
        let store = self.store();
        let due = self
            .tracker()
            .shared()
            .take_due(self.tracker().usage(), Instant::now());
        if !due.is_empty() {
            let Some(write) = store.record_last_seen(&due) else {
                return Ok(0);
            };
            if let Err(e) = write.await {
                self.tracker().shared().unwritten(&due);
                return Err(e);
            }
        }
        if let Some(read) = store.last_seen() {
            self.tracker().shared().set_fleet(read.await?);
        }
        Ok(due.len())
    }

    /// Starts the once-a-minute [`Flags::share_last_seen`] for a store
    /// that shares, inside a tokio runtime; it ends with the last handle.
    pub(crate) fn start_sharing_last_seen(&self) {
        if self.store().last_seen().is_none() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak = self.downgrade();
        runtime.spawn(async move {
            let mut every = tokio::time::interval(hygiene::SHARE_INTERVAL);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let Some(flags) = weak.upgrade() else { return };
                if let Err(e) = flags.share_last_seen().await {
                    tracing::debug!(target: "flags::hygiene", error = %e, "could not share last-seen times");
                }
            }
        });
    }
}
