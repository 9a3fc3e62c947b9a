//! Properties of extraction on generated input: no panic and bounded output on any bytes,
//! decoded values round-trip, and raw correlation returns real, maximal-enough matches.

use std::collections::HashSet;

use policy::config::ExtractionSettings;
use policy::extract::raw::{MAX_MATCHES, common_substrings};
use policy::extract::{Extracted, extract_http};
use proptest::prelude::*;

/// Small limits, so that the count, byte and depth bounds are actually reached.
fn limits() -> impl Strategy<Value = ExtractionSettings> {
    (0usize..24, 0usize..400, 0usize..6).prop_map(|(max_inputs, max_total_bytes, max_depth)| {
        ExtractionSettings {
            max_inputs,
            max_total_bytes,
            max_depth,
            ..ExtractionSettings::default()
        }
    })
}

/// The invariants every extraction result must satisfy.
fn assert_bounded(e: &Extracted, limits: &ExtractionSettings) -> Result<(), TestCaseError> {
    prop_assert!(e.inputs.len() <= limits.max_inputs);
    let total: usize = e.inputs.iter().map(|i| i.value.len()).sum();
    prop_assert!(total <= limits.max_total_bytes);
    let mut pairs = HashSet::new();
    for input in e.inputs.iter() {
        prop_assert!(!input.value.is_empty());
        prop_assert!(pairs.insert((input.origin, input.value)), "dup {input:?}");
        if let Some(path) = input.origin.strip_prefix("json") {
            let segments = path.matches(['.', '[']).count();
            prop_assert!(segments <= limits.max_depth, "{}", input.origin);
        }
    }
    Ok(())
}

/// Request lines and header sets that steer arbitrary bytes into every body parser.
fn request_prefix() -> impl Strategy<Value = Vec<u8>> {
    let heads = prop::sample::select(vec![
        "GET /a/b?x=1&y=%2541 HTTP/1.1\r\n",
        "POST /f HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 40\r\n\r\n",
        "POST /j HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n",
        "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n",
        "POST /m HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=zz\r\n\r\n--zz\r\n",
        "PUT /x HTTP/1.0\r\nCookie: a=b\r\nX-Y: z\r\n",
    ]);
    heads.prop_map(|h| h.as_bytes().to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        limits in limits(),
    ) {
        if let Some(e) = extract_http(&bytes, &limits) {
            assert_bounded(&e, &limits)?;
        }
    }

    #[test]
    fn bytes_after_a_valid_request_line_are_http_and_stay_bounded(
        prefix in request_prefix(),
        tail in prop::collection::vec(any::<u8>(), 0..600),
        limits in limits(),
    ) {
        let bytes = [prefix, tail].concat();
        let e = extract_http(&bytes, &limits);
        prop_assert!(e.is_some());
        if let Some(e) = e {
            prop_assert!(!e.requests.is_empty());
            assert_bounded(&e, &limits)?;
        }
    }

    #[test]
    fn structured_noise_after_a_request_never_panics(
        prefix in request_prefix(),
        tail in "[\\[\\]{}\",:%0-9a-f\\\\\r\n =&;-]{0,300}",
        limits in limits(),
    ) {
        let bytes = [prefix, tail.into_bytes()].concat();
        if let Some(e) = extract_http(&bytes, &limits) {
            assert_bounded(&e, &limits)?;
        }
    }

    #[test]
    fn fully_percent_encoded_query_values_decode_to_the_original(
        params in prop::collection::vec(("[a-z]{1,10}", "\\PC{1,20}"), 1..6),
    ) {
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| {
                let enc: String = v.bytes().map(|b| format!("%{b:02X}")).collect();
                format!("{k}={enc}")
            })
            .collect();
        let request = format!("GET /p?{} HTTP/1.1\r\n\r\n", query.join("&"));
        let e = extract_http(request.as_bytes(), &ExtractionSettings::default());
        prop_assert!(e.is_some());
        if let Some(e) = e {
            for (k, v) in &params {
                let origin = format!("query.{k}");
                prop_assert!(
                    e.inputs.iter().any(|i| i.origin == origin && i.value == v),
                    "{origin}={v:?} missing from {:?}", e.inputs
                );
            }
        }
    }

    /// Values of up to 90 characters, with quotes and backslashes escaped: their strings
    /// span the 64-byte blocks the JSON scanner searches by.
    #[test]
    fn json_string_values_come_back_decoded(
        fields in prop::collection::btree_map("[a-z]{1,8}", "\\PC{1,90}", 1..6),
    ) {
        let body = serde_json::to_string(&serde_json::json!({ "outer": fields }))
            .unwrap_or_default();
        let request = format!(
            "POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let e = extract_http(request.as_bytes(), &ExtractionSettings::default());
        prop_assert!(e.is_some());
        if let Some(e) = e {
            for (k, v) in &fields {
                let origin = format!("json.outer.{k}");
                prop_assert!(e.inputs.iter().any(|i| i.origin == origin && i.value == v));
                prop_assert!(e.inputs.iter().any(|i| i.origin == "jsonkey.outer" && i.value == k));
            }
        }
    }

    #[test]
    fn raw_matches_are_real_common_substrings(
        raw in prop::collection::vec(any::<u8>(), 0..300),
        arg in "\\PC{0,120}",
        min in 0usize..12,
    ) {
        let found = common_substrings(&raw, &arg, min);
        prop_assert!(found.len() <= MAX_MATCHES);
        let mut seen = HashSet::new();
        for input in &found {
            prop_assert_eq!(input.origin.as_str(), "raw");
            prop_assert!(input.value.len() >= min.max(1));
            prop_assert!(arg.contains(input.value.as_str()));
            prop_assert!(memchr::memmem::find(&raw, input.value.as_bytes()).is_some());
            prop_assert!(seen.insert(input.value.clone()));
        }
    }

    #[test]
    fn raw_correlation_finds_a_planted_run(
        raw_pre in prop::collection::vec(any::<u8>(), 0..200),
        raw_post in prop::collection::vec(any::<u8>(), 0..200),
        arg_pre in "\\PC{0,60}",
        arg_post in "\\PC{0,60}",
        planted in "\\PC{8,40}",
    ) {
        let raw = [raw_pre, planted.as_bytes().to_vec(), raw_post].concat();
        let arg = format!("{arg_pre}{planted}{arg_post}");
        let found = common_substrings(&raw, &arg, 8);
        prop_assert!(
            found.iter().any(|i| i.value.contains(planted.as_str())),
            "{planted:?} not covered by {found:?}"
        );
    }
}
