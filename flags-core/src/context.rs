//! The evaluation context: who is asking.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};

use crate::typed::Typed;

/// Who is asking: the fields Unleash strategies and constraints look at.
///
/// Cheap to build and to clone (strings are shared).
///
/// ```
/// use flags_core::Context;
///
/// let ctx = Context::new()
///     .user_id("user_123")
///     .property("beta", "true")
///     .environment("production");
/// assert_eq!(ctx.get("userId"), Some("user_123"));
/// assert_eq!(ctx.get("beta"), Some("true"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub(crate) user_id: Option<Arc<str>>,
    pub(crate) session_id: Option<Arc<str>>,
    pub(crate) remote_address: Option<Arc<str>>,
    pub(crate) remote_ip: Option<IpAddr>,
    /// `remote_ip` as text, made on first read when the address was given
    /// parsed ([`Context::remote_address_ip`]): most requests never read it.
    remote_ip_text: LazyText,
    pub(crate) environment: Option<Arc<str>>,
    pub(crate) app_name: Option<Arc<str>>,
    pub(crate) current_time: Option<DateTime<Utc>>,
    pub(crate) current_time_text: Option<Arc<str>>,
    pub(crate) properties: Vec<Property>,
}

/// Two contexts are equal when every field reads the same, however the
/// remote address was given (text, or parsed).
impl PartialEq for Context {
    fn eq(&self, other: &Context) -> bool {
        self.user_id == other.user_id
            && self.session_id == other.session_id
            && self.remote_ip == other.remote_ip
            && self.remote_address_text() == other.remote_address_text()
            && self.environment == other.environment
            && self.app_name == other.app_name
            && self.current_time == other.current_time
            && self.current_time_text == other.current_time_text
            && self.properties == other.properties
    }
}

/// Text derived from another field on first use: a cache, not part of the
/// value.
#[derive(Clone, Default)]
struct LazyText(OnceLock<Arc<str>>);

impl fmt::Debug for LazyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("..")
    }
}

/// A custom property; numeric and semver constraints parse its value once.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Property {
    pub(crate) key: Arc<str>,
    pub(crate) value: Arc<str>,
    pub(crate) typed: Typed,
}

impl Context {
    /// An empty context: an anonymous caller with no properties.
    ///
    /// ```
    /// # use flags_core::{engine::Mode, format::toml, Context, Snapshot};
    /// # let set = toml::parse("[beta]\nusers = [\"ann\"]\n", "flags.toml").unwrap();
    /// # let flags = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// let anonymous = Context::new();
    /// assert_eq!(anonymous.get_user_id(), None);
    /// assert_eq!(anonymous.properties().count(), 0);
    /// // Not in any user list.
    /// assert!(!flags.is_enabled("beta", &anonymous));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the user id (sticky rollouts and user lists use it).
    ///
    /// ```
    /// # use flags_core::{engine::Mode, format::toml, Context, Snapshot};
    /// # let set = toml::parse("[beta]\nusers = [\"ann\", \"bob\"]\n", "flags.toml").unwrap();
    /// # let flags = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// let ann = Context::new().user_id("ann");
    /// assert_eq!(ann.get("userId"), Some("ann"));
    /// assert!(flags.is_enabled("beta", &ann));
    /// assert!(!flags.is_enabled("beta", &Context::new().user_id("eve")));
    /// ```
    #[must_use]
    #[inline]
    pub fn user_id(mut self, id: impl Into<Arc<str>>) -> Self {
        self.user_id = Some(id.into());
        self
    }

    /// Sets the session id (rollouts fall back to it when there is no user id).
    ///
    /// ```
    /// # use flags_core::{engine::Mode, format::toml, Context, Snapshot};
    /// # let set = toml::parse("[checkout]\nrollout = 50\n", "flags.toml").unwrap();
    /// # let flags = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// let visitor = Context::new().session_id("s-42");
    /// assert_eq!(visitor.get("sessionId"), Some("s-42"));
    /// // No user id: the session id keeps the visitor in one bucket...
    /// assert!(!flags.evaluate("checkout", &visitor).random);
    /// // ...where a context with neither gets a random roll.
    /// assert!(flags.evaluate("checkout", &Context::new()).random);
    /// ```
    #[must_use]
    #[inline]
    pub fn session_id(mut self, id: impl Into<Arc<str>>) -> Self {
        self.session_id = Some(id.into());
        self
    }

    /// Sets the caller's IP address (text; parsed once here).
    ///
    /// ```
    /// # use flags_core::{engine::Mode, format::toml, Context, Snapshot};
    /// let set = toml::parse(r#"
    /// [internal_tools]
    /// when = { remoteAddress = { op = "in_cidr", values = ["10.0.0.0/8"] } }
    /// "#, "flags.toml").unwrap();
    /// let flags = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// let office = Context::new().remote_address("10.1.2.3");
    /// assert_eq!(office.get("remoteAddress"), Some("10.1.2.3"));
    /// assert!(flags.is_enabled("internal_tools", &office));
    /// assert!(!flags.is_enabled("internal_tools", &Context::new().remote_address("192.0.2.7")));
    /// ```
    #[must_use]
    #[inline]
    pub fn remote_address(mut self, addr: impl Into<Arc<str>>) -> Self {
        let addr = addr.into();
        self.remote_ip = addr.trim().parse().ok();
        self.remote_address = Some(addr);
        self
    }

    /// Sets the caller's IP address, already parsed (from `ConnectInfo`,
    /// say): no text is made, and none parsed, unless a constraint or a
    /// getter reads the address as text.
    ///
    /// ```
    /// use std::net::{IpAddr, Ipv4Addr};
    /// use flags_core::Context;
    ///
    /// let ctx = Context::new().remote_address_ip(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)));
    /// assert_eq!(ctx.remote_ip(), Some(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))));
    /// assert_eq!(ctx.get_remote_address(), Some("10.1.2.3"));
    /// assert_eq!(ctx, Context::new().remote_address("10.1.2.3"));
    /// ```
    #[must_use]
    #[inline]
    pub fn remote_address_ip(mut self, ip: IpAddr) -> Self {
        self.remote_ip = Some(ip);
        self.remote_address = None;
        self.remote_ip_text = LazyText::default();
        self
    }

    /// Sets the environment (`production`, `staging`...).
    ///
    /// [`Context::app_name`] works the same way, under `appName`:
    ///
    /// ```
    /// # use flags_core::{engine::Mode, format::toml, Context, Snapshot};
    /// let set = toml::parse(r#"
    /// [debug_panel]
    /// when = { environment = "staging", appName = "web" }
    /// "#, "flags.toml").unwrap();
    /// let flags = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// let staging = Context::new().environment("staging").app_name("web");
    /// assert_eq!(staging.get("environment"), Some("staging"));
    /// assert_eq!(staging.get("appName"), Some("web"));
    /// assert!(flags.is_enabled("debug_panel", &staging));
    /// assert!(!flags.is_enabled("debug_panel", &staging.clone().environment("production")));
    /// assert!(!flags.is_enabled("debug_panel", &staging.app_name("admin")));
    /// ```
    #[must_use]
    #[inline]
    pub fn environment(mut self, env: impl Into<Arc<str>>) -> Self {
        self.environment = Some(env.into());
        self
    }

    /// Sets the application name.
    /// See [`Context::environment`] for an example with both.
    ///
    /// ```
    /// use flags_core::Context;
    ///
    /// let ctx = Context::new().app_name("checkout-service");
    /// assert_eq!(ctx.get("appName"), Some("checkout-service"));
    /// ```
    #[must_use]
    #[inline]
    pub fn app_name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.app_name = Some(name.into());
        self
    }

    /// Pins the current time (date constraints use it; default: the clock).
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use flags_core::{engine::Mode, format::toml, Context, Snapshot};
    /// let set = toml::parse(r#"
    /// [new_year_sale]
    /// when = [{ field = "currentTime", op = "date_after", value = "2026-01-01T00:00:00Z" }]
    /// "#, "flags.toml").unwrap();
    /// let flags = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// let eve = Utc.with_ymd_and_hms(2025, 12, 31, 23, 0, 0).unwrap();
    /// let day = Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap();
    /// assert!(!flags.is_enabled("new_year_sale", &Context::new().current_time(eve)));
    /// assert!(flags.is_enabled("new_year_sale", &Context::new().current_time(day)));
    /// ```
    #[must_use]
    pub fn current_time(mut self, at: DateTime<Utc>) -> Self {
        self.current_time_text = Some(at.to_rfc3339().into());
        self.current_time = Some(at);
        self
    }

    /// Adds or replaces a custom property (`beta`, `country`, `plan`...).
    /// The standard field names (`userId`, `sessionId`, `remoteAddress`,
    /// `environment`, `appName`, `currentTime`) set those fields instead.
    ///
    /// ```
    /// use flags_core::Context;
    ///
    /// let ctx = Context::new().property("plan", "free").property("plan", "pro");
    /// assert_eq!(ctx.property_value("plan"), Some("pro"));
    /// assert_eq!(ctx.properties().count(), 1);
    /// // A standard name sets the field, not a property.
    /// let ann = Context::new().property("userId", "ann");
    /// assert_eq!(ann, Context::new().user_id("ann"));
    /// assert_eq!(ann.property_value("userId"), None);
    /// ```
    #[must_use]
    #[inline]
    pub fn property(mut self, key: impl Into<Arc<str>>, value: impl Into<Arc<str>>) -> Self {
        self.set(key, value);
        self
    }

    /// Sets a field or property in place; see [`Context::property`].
    ///
    /// ```
    /// use flags_core::Context;
    ///
    /// let mut ctx = Context::new();
    /// ctx.set("userId", "ann");
    /// ctx.set("remoteAddress", "10.1.2.3");
    /// ctx.set("country", "NO");
    /// let built = Context::new().user_id("ann").remote_address("10.1.2.3");
    /// assert_eq!(ctx, built.property("country", "NO"));
    /// ```
    pub fn set(&mut self, key: impl Into<Arc<str>>, value: impl Into<Arc<str>>) {
        let key = key.into();
        let value = value.into();
        match &*key {
            "userId" => self.user_id = Some(value),
            "sessionId" => self.session_id = Some(value),
            "remoteAddress" => {
                self.remote_ip = value.trim().parse().ok();
                self.remote_address = Some(value);
            }
            "environment" => self.environment = Some(value),
            "appName" => self.app_name = Some(value),
            "currentTime" => {
                self.current_time = crate::typed::parse_date(&value);
                self.current_time_text = Some(value);
            }
            _ => match self.properties.iter_mut().find(|p| p.key == key) {
                Some(slot) => {
                    slot.value = value;
                    slot.typed = Typed::default();
                }
                None => self.properties.push(Property {
                    key,
                    value,
                    typed: Typed::default(),
                }),
            },
        }
    }

    /// The user id, if known.
    ///
    /// ```
    /// use flags_core::Context;
    ///
    /// assert_eq!(Context::new().user_id("ann").get_user_id(), Some("ann"));
    /// assert_eq!(Context::new().session_id("s-1").get_user_id(), None);
    /// ```
    pub fn get_user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// The session id, if known.
    ///
    /// ```
    /// use flags_core::Context;
    ///
    /// let mut ctx = Context::new();
    /// ctx.set("sessionId", "s-42");
    /// assert_eq!(ctx.get_session_id(), Some("s-42"));
    /// assert_eq!(ctx.get_user_id(), None);
    /// ```
    pub fn get_session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The remote address as given, if known.
    ///
    /// ```
    /// use flags_core::Context;
    ///
    /// // Kept as given, even when it is not an address.
    /// let ctx = Context::new().remote_address("unknown");
    /// assert_eq!(ctx.get_remote_address(), Some("unknown"));
    /// assert_eq!(ctx.remote_ip(), None);
    /// ```
    pub fn get_remote_address(&self) -> Option<&str> {
        self.remote_address_text()
    }

    /// The address as given, or as text made once from the parsed one.
    #[inline]
    pub(crate) fn remote_address_text(&self) -> Option<&str> {
        match (&self.remote_address, self.remote_ip) {
            (Some(text), _) => Some(text),
            (None, Some(ip)) => Some(self.remote_ip_text.0.get_or_init(|| ip.to_string().into())),
            (None, None) => None,
        }
    }

    /// The remote address, parsed, if it is an IP address.
    ///
    /// ```
    /// use std::net::IpAddr;
    /// use flags_core::Context;
    ///
    /// let ctx = Context::new().remote_address(" 2001:db8::1 ");
    /// assert_eq!(ctx.remote_ip(), Some("2001:db8::1".parse::<IpAddr>().unwrap()));
    /// assert_eq!(Context::new().remote_address("localhost").remote_ip(), None);
    /// ```
    pub fn remote_ip(&self) -> Option<IpAddr> {
        self.remote_ip
    }

    /// The pinned current time, if any.
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// use flags_core::Context;
    ///
    /// let mut ctx = Context::new();
    /// assert_eq!(ctx.get_current_time(), None); // evaluations read the clock
    /// ctx.set("currentTime", "2026-03-01T12:00:00Z");
    /// let at = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    /// assert_eq!(ctx.get_current_time(), Some(at));
    /// ```
    pub fn get_current_time(&self) -> Option<DateTime<Utc>> {
        self.current_time
    }

    /// Any field by its Unleash name, custom properties included.
    ///
    /// ```
    /// use flags_core::Context;
    ///
    /// let ctx = Context::new().app_name("web").property("plan", "pro");
    /// assert_eq!(ctx.get("appName"), Some("web"));
    /// assert_eq!(ctx.get("plan"), Some("pro"));
    /// assert_eq!(ctx.get("country"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        match name {
            "userId" => self.user_id.as_deref(),
            "sessionId" => self.session_id.as_deref(),
            "remoteAddress" => self.remote_address_text(),
            "environment" => self.environment.as_deref(),
            "appName" => self.app_name.as_deref(),
            "currentTime" => self.current_time_text.as_deref(),
            _ => self.property_value(name),
        }
    }

    /// A custom property only.
    ///
    /// ```
    /// use flags_core::Context;
    ///
    /// let ctx = Context::new().user_id("ann").property("plan", "pro");
    /// assert_eq!(ctx.property_value("plan"), Some("pro"));
    /// // `userId` is a field, not a property: only `get` reads it.
    /// assert_eq!(ctx.property_value("userId"), None);
    /// assert_eq!(ctx.get("userId"), Some("ann"));
    /// ```
    pub fn property_value(&self, name: &str) -> Option<&str> {
        self.property_entry(name).map(|p| &*p.value)
    }

    #[inline]
    pub(crate) fn property_entry(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| &*p.key == name)
    }

    /// The custom properties, in insertion order.
    ///
    /// ```
    /// use flags_core::Context;
    ///
    /// let ctx = Context::new()
    ///     .property("plan", "free")
    ///     .environment("production")
    ///     .property("country", "NO")
    ///     .property("plan", "pro"); // replaced in place
    /// let props: Vec<_> = ctx.properties().collect();
    /// assert_eq!(props, [("plan", "pro"), ("country", "NO")]);
    /// ```
    pub fn properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.properties.iter().map(|p| (&*p.key, &*p.value))
    }
}
