//! The provider through OpenFeature's `Client`: every type, reason and error
//! code, as an application sees them.

use std::sync::{Arc, Mutex};

use flags_middleware::Flags;
use flags_openfeature::FlagsProvider;
use open_feature::{
    async_trait, Client, EvaluationContext, EvaluationDetails, EvaluationError,
    EvaluationErrorCode, EvaluationReason, FlagMetadataValue, Hook, HookContext, HookHints,
    OpenFeature, StructValue, Value,
};

/// Unleash JSON, loaded leniently like a server's answer, so payloads that do
/// not parse (refused by the TOML reader) can be served.
const FLAGS: &str = r##"{"version": 2, "features": [
  {"name": "everyone", "enabled": true, "project": "shop", "type": "release",
   "strategies": [{"name": "default"}]},
  {"name": "no_rules", "enabled": true, "strategies": []},
  {"name": "killed", "enabled": false, "strategies": [],
   "variants": [{"name": "blue", "weight": 1000, "payload": {"type": "string", "value": "b"}}]},
  {"name": "vip", "enabled": true, "strategies": [
    {"name": "userWithId", "parameters": {"userIds": "ann"}}]},
  {"name": "beta_only", "enabled": true, "strategies": [
    {"name": "default", "constraints": [
      {"contextName": "beta", "operator": "IN", "values": ["true"]}]}]},
  {"name": "half", "enabled": true, "strategies": [
    {"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "default", "groupId": "half"}}]},
  {"name": "payloads", "enabled": true, "strategies": [],
   "variants": [
     {"name": "text", "weight": 0, "weightType": "fix", "payload": {"type": "string", "value": "hello"},
      "overrides": [{"contextName": "userId", "values": ["text"]}]},
     {"name": "list", "weight": 0, "weightType": "fix", "payload": {"type": "csv", "value": "a,b"},
      "overrides": [{"contextName": "userId", "values": ["list"]}]},
     {"name": "whole", "weight": 0, "weightType": "fix", "payload": {"type": "number", "value": "42"},
      "overrides": [{"contextName": "userId", "values": ["whole"]}]},
     {"name": "fraction", "weight": 0, "weightType": "fix", "payload": {"type": "number", "value": "2.5"},
      "overrides": [{"contextName": "userId", "values": ["fraction"]}]},
     {"name": "not_a_number", "weight": 0, "weightType": "fix", "payload": {"type": "number", "value": "forty"},
      "overrides": [{"contextName": "userId", "values": ["not_a_number"]}]},
     {"name": "object", "weight": 0, "weightType": "fix",
      "payload": {"type": "json", "value": "{\"color\": \"#00f\", \"size\": 3, \"tags\": [\"a\"]}"},
      "overrides": [{"contextName": "userId", "values": ["object"]}]},
     {"name": "broken_json", "weight": 0, "weightType": "fix", "payload": {"type": "json", "value": "{\"color\""},
      "overrides": [{"contextName": "userId", "values": ["broken_json"]}]},
     {"name": "bare", "weight": 1000, "weightType": "variable"}
   ]},
  {"name": "ab", "enabled": true, "strategies": [],
   "variants": [
     {"name": "blue", "weight": 500, "weightType": "variable", "stickiness": "default"},
     {"name": "green", "weight": 500, "weightType": "variable", "stickiness": "default"}]}
]}"##;

/// A client of a private OpenFeature API (tests run in parallel; the
/// singleton has its own test).
async fn client() -> (Client, Flags) {
    let flags = Flags::from_unleash_json(FLAGS).unwrap();
    let mut api = OpenFeature::default();
    api.set_provider(FlagsProvider::new(flags.clone())).await;
    (api.create_client(), flags)
}

fn user(id: &str) -> EvaluationContext {
    EvaluationContext::default().with_targeting_key(id)
}

fn code(result: Result<impl std::fmt::Debug, EvaluationError>) -> EvaluationErrorCode {
    result.expect_err("an error").code
}

#[tokio::test]
async fn bool_is_the_enabled_state_with_the_engines_reason() {
    let (client, flags) = client().await;
    let ann = user("ann");
    let cases = [
        ("everyone", &ann, true, EvaluationReason::Static, "on"),
        ("no_rules", &ann, true, EvaluationReason::Static, "on"),
        ("vip", &ann, true, EvaluationReason::TargetingMatch, "on"),
        ("vip", &user("bob"), false, EvaluationReason::Default, "off"),
        ("killed", &ann, false, EvaluationReason::Disabled, "off"),
        ("beta_only", &ann, false, EvaluationReason::Default, "off"),
    ];
    for (flag, ctx, value, reason, variant) in cases {
        let d = client
            .get_bool_details(flag, Some(ctx), None)
            .await
            .unwrap();
        assert_eq!(
            (d.value, d.reason, d.variant.as_deref()),
            (value, Some(reason), Some(variant)),
            "{flag}"
        );
        assert_eq!(
            d.flag_metadata.values.get("version"),
            Some(&FlagMetadataValue::Int(flags.version() as i64))
        );
    }
    // A property from the evaluation context (a boolean, as its text).
    let beta = ann.clone().with_custom_field("beta", true);
    let d = client
        .get_bool_details("beta_only", Some(&beta), None)
        .await
        .unwrap();
    assert_eq!(
        (d.value, d.reason),
        (true, Some(EvaluationReason::TargetingMatch))
    );
    // A percentage decided: SPLIT for those it let in and those it left out.
    let mut seen = [false; 2];
    for i in 0..40 {
        let d = client
            .get_bool_details("half", Some(&user(&format!("u{i}"))), None)
            .await
            .unwrap();
        assert_eq!(d.reason, Some(EvaluationReason::Split), "u{i}");
        seen[usize::from(d.value)] = true;
    }
    assert_eq!(seen, [true, true], "50% splits 40 users");
    // The arm of a flag with variants is the variant.
    let d = client
        .get_bool_details("ab", Some(&ann), None)
        .await
        .unwrap();
    assert!(d.value);
    assert_eq!(d.reason, Some(EvaluationReason::Split));
    assert!(matches!(d.variant.as_deref(), Some("blue" | "green")));
}

#[tokio::test]
async fn metadata_carries_version_project_and_type() {
    let (client, _flags) = client().await;
    let d = client
        .get_bool_details("everyone", None, None)
        .await
        .unwrap();
    let m = &d.flag_metadata.values;
    assert_eq!(
        m.get("project"),
        Some(&FlagMetadataValue::String("shop".into()))
    );
    assert_eq!(
        m.get("type"),
        Some(&FlagMetadataValue::String("release".into()))
    );
    let d = client.get_bool_details("vip", None, None).await.unwrap();
    assert!(!d.flag_metadata.values.contains_key("project"));
    assert!(d.flag_metadata.values.contains_key("version"));
}

#[tokio::test]
async fn strings_ints_floats_and_structs_come_from_payloads() {
    let (client, _flags) = client().await;
    let s = client
        .get_string_details("payloads", Some(&user("text")), None)
        .await
        .unwrap();
    assert_eq!(
        (s.value.as_str(), s.variant.as_deref(), s.reason),
        (
            "hello",
            Some("text"),
            Some(EvaluationReason::TargetingMatch)
        )
    );
    let s = client
        .get_string_value("payloads", Some(&user("list")), None)
        .await;
    assert_eq!(s.as_deref(), Ok("a,b"));
    // A variant without a payload answers its name; a split decided it.
    let s = client
        .get_string_details("ab", Some(&user("ann")), None)
        .await
        .unwrap();
    assert!(matches!(s.value.as_str(), "blue" | "green"));
    assert_eq!(s.variant.as_deref(), Some(s.value.as_str()));
    assert_eq!(s.reason, Some(EvaluationReason::Split));

    let i = client
        .get_int_details("payloads", Some(&user("whole")), None)
        .await
        .unwrap();
    assert_eq!((i.value, i.variant.as_deref()), (42, Some("whole")));
    let f = client
        .get_float_value("payloads", Some(&user("fraction")), None)
        .await;
    assert_eq!(f, Ok(2.5));
    let f = client
        .get_float_value("payloads", Some(&user("whole")), None)
        .await;
    assert_eq!(f, Ok(42.0));

    let d: EvaluationDetails<StructValue> = client
        .get_struct_details("payloads", Some(&user("object")), None)
        .await
        .unwrap();
    assert_eq!(d.value.fields["color"], Value::String("#00f".into()));
    assert_eq!(d.value.fields["size"], Value::Int(3));
    assert_eq!(
        d.value.fields["tags"],
        Value::Array(vec![Value::String("a".into())])
    );
    assert_eq!(d.reason, Some(EvaluationReason::TargetingMatch));
}

#[tokio::test]
async fn a_disabled_flag_or_variant_is_ok_with_the_empty_value() {
    let (client, _flags) = client().await;
    let ann = user("ann");
    let s = client
        .get_string_details("killed", Some(&ann), None)
        .await
        .unwrap();
    assert_eq!(
        (s.value.as_str(), s.reason, s.variant.as_deref()),
        ("", Some(EvaluationReason::Disabled), Some("disabled"))
    );
    let i = client
        .get_int_details("killed", Some(&ann), None)
        .await
        .unwrap();
    assert_eq!((i.value, i.reason), (0, Some(EvaluationReason::Disabled)));
    let f = client
        .get_float_details("vip", Some(&user("bob")), None)
        .await
        .unwrap();
    assert_eq!((f.value, f.reason), (0.0, Some(EvaluationReason::Disabled)));
    // On, but no variants: no variant for anyone.
    let d = client
        .get_struct_details::<StructValue>("everyone", Some(&ann), None)
        .await
        .unwrap();
    assert_eq!(
        (d.value, d.reason),
        (StructValue::default(), Some(EvaluationReason::Disabled))
    );
}

#[tokio::test]
async fn errors_have_their_codes() {
    let (client, _flags) = client().await;
    let ann = user("ann");
    for result in [
        client
            .get_bool_value("nope", Some(&ann), None)
            .await
            .map(|_| ()),
        client
            .get_string_value("nope", None, None)
            .await
            .map(|_| ()),
        client.get_int_value("nope", None, None).await.map(|_| ()),
        client.get_float_value("nope", None, None).await.map(|_| ()),
        client
            .get_struct_value::<StructValue>("nope", None, None)
            .await
            .map(|_| ()),
    ] {
        let e = result.unwrap_err();
        assert_eq!(e.code, EvaluationErrorCode::FlagNotFound);
        assert!(e.message.unwrap().contains("`nope`"));
    }
    // Another type's payload.
    let mismatches = [
        code(
            client
                .get_int_value("payloads", Some(&user("text")), None)
                .await,
        ),
        code(
            client
                .get_string_value("payloads", Some(&user("whole")), None)
                .await,
        ),
        code(
            client
                .get_int_value("payloads", Some(&user("fraction")), None)
                .await,
        ),
        code(
            client
                .get_float_value("payloads", Some(&user("object")), None)
                .await,
        ),
        code(
            client
                .get_struct_value::<StructValue>("payloads", Some(&user("text")), None)
                .await,
        ),
        code(
            client
                .get_int_value("payloads", Some(&user("bare")), None)
                .await,
        ),
    ];
    assert!(
        mismatches
            .iter()
            .all(|c| *c == EvaluationErrorCode::TypeMismatch),
        "{mismatches:?}"
    );
    // Payloads that do not parse.
    let parse = [
        code(
            client
                .get_int_value("payloads", Some(&user("not_a_number")), None)
                .await,
        ),
        code(
            client
                .get_float_value("payloads", Some(&user("not_a_number")), None)
                .await,
        ),
        code(
            client
                .get_struct_value::<StructValue>("payloads", Some(&user("broken_json")), None)
                .await,
        ),
    ];
    assert!(
        parse.iter().all(|c| *c == EvaluationErrorCode::ParseError),
        "{parse:?}"
    );
}

/// Records what the client hands its hooks after each evaluation.
#[derive(Clone, Default)]
struct Finally(Arc<Mutex<Vec<Seen>>>);

/// The reason and value a `finally` hook saw.
type Seen = (Option<EvaluationReason>, Value);

#[async_trait]
impl Hook for Finally {
    async fn before<'a>(
        &self,
        _: &HookContext<'a>,
        _: Option<&'a HookHints>,
    ) -> Result<Option<EvaluationContext>, EvaluationError> {
        Ok(None)
    }
    async fn after<'a>(
        &self,
        _: &HookContext<'a>,
        _: &EvaluationDetails<Value>,
        _: Option<&'a HookHints>,
    ) -> Result<(), EvaluationError> {
        Ok(())
    }
    async fn error<'a>(&self, _: &HookContext<'a>, _: &EvaluationError, _: Option<&'a HookHints>) {}
    async fn finally<'a>(
        &self,
        _: &HookContext<'a>,
        details: &EvaluationDetails<Value>,
        _: Option<&'a HookHints>,
    ) {
        self.0
            .lock()
            .unwrap()
            .push((details.reason.clone(), details.value.clone()));
    }
}

#[tokio::test]
async fn an_error_is_reported_to_hooks_with_reason_error() {
    let (client, _flags) = client().await;
    let hook = Finally::default();
    let client = client.with_hook(hook.clone());
    assert!(client
        .get_int_value("payloads", Some(&user("object")), None)
        .await
        .is_err());
    assert_eq!(
        client
            .get_int_value("payloads", Some(&user("whole")), None)
            .await,
        Ok(42)
    );
    let seen = hook.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            (Some(EvaluationReason::Error), Value::Int(0)),
            (Some(EvaluationReason::TargetingMatch), Value::Int(42)),
        ]
    );
}

#[tokio::test]
async fn follows_changes_outside_a_request() {
    let (client, flags) = client().await;
    assert_eq!(
        client.get_bool_value("everyone", None, None).await,
        Ok(true)
    );
    flags
        .writer("test")
        .commit(flags_middleware::edit::Edit::kill("everyone"))
        .await
        .unwrap();
    let d = client
        .get_bool_details("everyone", None, None)
        .await
        .unwrap();
    assert_eq!(
        (d.value, d.reason),
        (false, Some(EvaluationReason::Disabled))
    );
}

/// The documented global setup: the SDK's singleton.
#[tokio::test]
async fn through_the_singleton() {
    let flags = Flags::from_unleash_json(FLAGS).unwrap();
    OpenFeature::singleton_mut()
        .await
        .set_provider(FlagsProvider::new(flags))
        .await;
    let api = OpenFeature::singleton().await;
    assert_eq!(api.provider_metadata().await.name, "flags");
    let client = api.create_client();
    assert_eq!(
        client.get_bool_value("vip", Some(&user("ann")), None).await,
        Ok(true)
    );
    assert_eq!(
        code(client.get_bool_value("nope", None, None).await),
        EvaluationErrorCode::FlagNotFound
    );
}
