//! Input extraction from literal HTTP byte strings: every carrier, every decoding, framing
//! (chunked, pipelined, partial, truncated), the non-HTTP fallback and the limits.

use policy::Input;
use policy::config::ExtractionSettings;
use policy::extract::raw::{MAX_MATCHES, common_substrings};
use policy::extract::{Extracted, HttpSummary, extract_http};

fn extract(bytes: &[u8]) -> Extracted {
    extract_with(bytes, &ExtractionSettings::default())
}

fn extract_with(bytes: &[u8], limits: &ExtractionSettings) -> Extracted {
    match extract_http(bytes, limits) {
        Some(e) => e,
        None => panic!("not taken for HTTP: {:?}", String::from_utf8_lossy(bytes)),
    }
}

/// Values reported under `origin`, in order.
fn values<'a>(e: &'a Extracted, origin: &str) -> Vec<&'a str> {
    e.inputs
        .iter()
        .filter(|i| i.origin == origin)
        .map(|i| i.value)
        .collect()
}

fn has(e: &Extracted, origin: &str, value: &str) -> bool {
    e.inputs.contains(origin, value)
}

fn has_origin(e: &Extracted, origin: &str) -> bool {
    e.inputs.iter().any(|i| i.origin == origin)
}

// ---------------------------------------------------------------------------------------
// Carriers

#[test]
fn query_parameter_values_and_names_are_inputs() {
    let e = extract(b"GET /search?id=42&name=bob HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(values(&e, "query.id"), ["42"]);
    assert_eq!(values(&e, "query.name"), ["bob"]);
    assert_eq!(values(&e, "querykey"), ["id", "name"]);
}

#[test]
fn raw_query_string_is_an_input_for_cgi_style_programs() {
    let e = extract(b"GET /cgi-bin/x?a=1;id HTTP/1.0\r\n\r\n");
    assert_eq!(values(&e, "query"), ["a=1;id"]);
}

#[test]
fn repeated_parameter_also_yields_its_comma_joined_values() {
    let e = extract(b"GET /?a=x&b=1&a=y&a=z HTTP/1.1\r\n\r\n");
    assert_eq!(values(&e, "query.a"), ["x", "y", "z", "x,y,z"]);
    assert_eq!(values(&e, "query.b"), ["1"]);
}

#[test]
fn path_segments_are_numbered_over_non_empty_segments_and_decoded() {
    let e = extract(b"GET //users/o%27brien//a+b/ HTTP/1.1\r\n\r\n");
    assert_eq!(values(&e, "path[0]"), ["users"]);
    assert_eq!(values(&e, "path[1]"), ["o'brien"]);
    // `+` is literal in paths.
    assert_eq!(values(&e, "path[2]"), ["a+b"]);
    assert!(!has_origin(&e, "path[3]"));
}

#[test]
fn whole_decoded_path_is_an_input_for_file_serving_programs() {
    let e = extract(b"GET /static/..%2f..%2fetc%2fpasswd HTTP/1.1\r\n\r\n");
    assert!(has(&e, "path", "/static/../../etc/passwd"));
    assert!(has(&e, "path[1]", "../../etc/passwd"));
}

#[test]
fn root_path_yields_no_path_input() {
    let e = extract(b"GET / HTTP/1.1\r\n\r\n");
    assert!(!has_origin(&e, "path"));
    assert!(!has_origin(&e, "path[0]"));
}

#[test]
fn urlencoded_form_fields_are_inputs() {
    let e = extract(
        b"POST /login HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 28\r\n\r\nuser=admin%27--&pass=a+b&x=1&x=2",
    );
    assert_eq!(values(&e, "form.user"), ["admin'--"]);
    assert_eq!(values(&e, "form.pass"), ["a b"]);
    // Content-Length 28 cuts the body before the second `x`.
    assert_eq!(values(&e, "form.x"), ["1"]);
    assert_eq!(values(&e, "formkey"), ["user", "pass", "x"]);
}

#[test]
fn multipart_field_values_and_file_names_are_inputs() {
    let body = "--XyZ\r\n\
        Content-Disposition: form-data; name=\"comment\"\r\n\r\n\
        hello; rm -rf /\r\n\
        --XyZ\r\n\
        Content-Disposition: form-data; name=\"upload\"; filename=\"../../etc/cron.d/x\"\r\n\
        Content-Type: application/octet-stream\r\n\r\n\
        \x7fELF binary\r\n\
        --XyZ\r\n\
        Content-Disposition: form-data; name=\"doc\"; filename*=UTF-8''caf%C3%A9.txt\r\n\
        Content-Type: text/plain\r\n\r\n\
        line one\r\nline two\r\n\
        --XyZ--\r\n";
    let request = format!(
        "POST /up HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=\"XyZ\"\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let e = extract(request.as_bytes());
    assert_eq!(values(&e, "multipart.comment"), ["hello; rm -rf /"]);
    assert_eq!(
        values(&e, "multipart.upload.filename"),
        ["../../etc/cron.d/x"]
    );
    // Binary part content is not a parameter.
    assert!(!has_origin(&e, "multipart.upload"));
    assert_eq!(values(&e, "multipart.doc.filename"), ["café.txt"]);
    assert_eq!(values(&e, "multipart.doc"), ["line one\r\nline two"]);
}

#[test]
fn multipart_cut_off_mid_part_keeps_what_arrived() {
    let request = b"POST /up HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b\r\n\
        Content-Length: 5000\r\n\r\n\
        --b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nfirst\r\n\
        --b\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\nSELECT * FROM";
    let e = extract(request);
    assert_eq!(values(&e, "multipart.a"), ["first"]);
    assert_eq!(values(&e, "multipart.q"), ["SELECT * FROM"]);
}

#[test]
fn multipart_text_value_is_capped() {
    let long = "x".repeat(10_000);
    let body = format!("--b\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\n{long}\r\n--b--");
    let request = format!(
        "POST / HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let e = extract(request.as_bytes());
    let v = values(&e, "multipart.t");
    assert_eq!(v.len(), 1);
    assert!(v.first().is_some_and(|v| v.len() == 4096));
}

#[test]
fn json_values_keys_numbers_and_arrays_are_inputs_at_any_depth() {
    let body = br#"{"data":{"items":["a1",{"cmd":"ls; id"}],"n":12.5,"ok":true,"none":null}}"#;
    let request = [
        b"POST /api HTTP/1.1\r\nContent-Type: application/json; charset=utf-8\r\n".as_slice(),
        format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes(),
        body,
    ]
    .concat();
    let e = extract(&request);
    assert_eq!(values(&e, "json.data.items[0]"), ["a1"]);
    assert_eq!(values(&e, "json.data.items[1].cmd"), ["ls; id"]);
    assert_eq!(values(&e, "json.data.n"), ["12.5"]);
    assert_eq!(values(&e, "json.data.ok"), ["true"]);
    assert!(!has_origin(&e, "json.data.none"), "null is not a value");
    assert_eq!(values(&e, "jsonkey"), ["data"]);
    assert_eq!(values(&e, "jsonkey.data"), ["items", "n", "ok", "none"]);
    assert_eq!(values(&e, "jsonkey.data.items[1]"), ["cmd"]);
}

#[test]
fn json_body_is_recognised_by_its_look_without_a_json_content_type() {
    let e = extract(
        b"POST / HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\n [\"x\", \"y'z\"]",
    );
    assert_eq!(values(&e, "json[1]"), ["y'z"]);
    assert!(!has_origin(&e, "body"));
}

#[test]
fn json_string_escapes_are_decoded() {
    let body = br#"{"q":"\u0027 OR 1=1 --","e":"\ud83d\ude00\n","bad":"\ud800x"}"#;
    let request = [
        b"POST / HTTP/1.1\r\nContent-Type: application/json\r\n".as_slice(),
        format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes(),
        body,
    ]
    .concat();
    let e = extract(&request);
    assert_eq!(values(&e, "json.q"), ["' OR 1=1 --"]);
    assert_eq!(values(&e, "json.e"), ["\u{1F600}\n"]);
    assert_eq!(values(&e, "json.bad"), ["\u{FFFD}x"]);
}

#[test]
fn json_truncated_by_the_capture_keeps_the_values_before_the_cut() {
    let e = extract(
        b"POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 900\r\n\r\n\
          {\"a\":\"one\",\"b\":[\"two\",\"thr",
    );
    assert_eq!(values(&e, "json.a"), ["one"]);
    assert_eq!(values(&e, "json.b[0]"), ["two"]);
    assert_eq!(values(&e, "json.b[1]"), ["thr"]);
}

#[test]
fn deep_json_nesting_neither_overflows_nor_hides_a_payload() {
    let depth = 60_000;
    let body = format!(
        "{}\"; cat /etc/passwd\"{}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let request = format!(
        "POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let limits = ExtractionSettings {
        max_depth: 3,
        ..ExtractionSettings::default()
    };
    let e = extract_with(request.as_bytes(), &limits);
    // Reported, attributed to the deepest tracked ancestor: three segments at most.
    assert_eq!(values(&e, "json[0][0][0]"), ["; cat /etc/passwd"]);
}

#[test]
fn cookies_are_inputs_with_decoded_forms() {
    let e = extract(
        b"GET / HTTP/1.1\r\nCookie: sid=abc123; theme=\"dark\"; q=%27x\r\nCookie: lang=en\r\n\r\n",
    );
    assert_eq!(values(&e, "cookie.sid"), ["abc123"]);
    assert_eq!(values(&e, "cookie.theme"), ["dark"]);
    assert_eq!(values(&e, "cookie.q"), ["%27x", "'x"]);
    assert_eq!(values(&e, "cookie.lang"), ["en"]);
    assert!(!has_origin(&e, "header.cookie"));
}

#[test]
fn user_data_headers_are_inputs_and_protocol_headers_are_not() {
    let e = extract(
        b"GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: () { :; }; /bin/id\r\n\
          Referer: http://x/?q=1\r\nX-Api-Version: 2'\r\nTenant: acme\r\n\
          Accept: */*\r\nAccept-Language: en\r\nConnection: keep-alive\r\n\
          Cache-Control: no-cache\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\
          Authorization: Basic c2VjcmV0\r\nIf-None-Match: \"abc\"\r\n\
          Sec-Fetch-Mode: navigate\r\nSec-Ch-Ua-Full-Version-List-Extended: \"x\"\r\n\
          X-A-Custom-Header-Name-Longer-Than-Usual: long\r\n\r\n",
    );
    assert_eq!(values(&e, "header.user-agent"), ["() { :; }; /bin/id"]);
    assert_eq!(
        values(&e, "header.x-a-custom-header-name-longer-than-usual"),
        ["long"]
    );
    assert_eq!(values(&e, "header.referer"), ["http://x/?q=1"]);
    assert_eq!(values(&e, "header.x-api-version"), ["2'"]);
    assert_eq!(values(&e, "header.tenant"), ["acme"]);
    for excluded in [
        "host",
        "accept",
        "accept-language",
        "connection",
        "cache-control",
        "content-type",
        "content-length",
        "authorization",
        "if-none-match",
        "sec-fetch-mode",
        "sec-ch-ua-full-version-list-extended",
    ] {
        assert!(
            !has_origin(&e, &format!("header.{excluded}")),
            "{excluded} reported"
        );
    }
}

#[test]
fn x_forwarded_for_elements_are_inputs_on_their_own() {
    let e = extract(b"GET / HTTP/1.1\r\nX-Forwarded-For: 1' OR '1'='1, 10.0.0.1\r\n\r\n");
    assert_eq!(
        values(&e, "header.x-forwarded-for"),
        ["1' OR '1'='1, 10.0.0.1", "1' OR '1'='1", "10.0.0.1"]
    );
}

#[test]
fn opaque_and_plain_bodies() {
    let gz = extract(
        b"POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Type: application/json\r\n\
          Content-Length: 9\r\n\r\n{\"a\":\"b\"}",
    );
    assert!(gz.inputs.iter().all(|i| !i.origin.starts_with("json")));
    let plain = extract(
        b"POST / HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nping 1.2.3",
    );
    assert_eq!(values(&plain, "body"), ["ping 1.2."]);
}

// ---------------------------------------------------------------------------------------
// Decoding

#[test]
fn percent_encoded_sql_is_decoded() {
    let e = extract(b"GET /?id=%27%20OR%201%3D1 HTTP/1.1\r\n\r\n");
    assert_eq!(values(&e, "query.id"), ["' OR 1=1"]);
}

#[test]
fn double_percent_encoding_keeps_both_decoded_forms() {
    let e = extract(b"GET /?f=..%252f..%252fetc HTTP/1.1\r\n\r\n");
    assert_eq!(values(&e, "query.f"), ["../../etc", "..%2f..%2fetc"]);
}

#[test]
fn malformed_escapes_stay_literal() {
    let e = extract(b"GET /?a=100%&b=%zz%4 HTTP/1.1\r\n\r\n");
    assert_eq!(values(&e, "query.a"), ["100%"]);
    assert_eq!(values(&e, "query.b"), ["%zz%4"]);
}

#[test]
fn plus_is_a_space_in_queries_and_forms_only() {
    let e = extract(b"GET /a+b?q=a+b%2Bc HTTP/1.1\r\n\r\n");
    assert_eq!(values(&e, "query.q"), ["a b+c"]);
    assert_eq!(values(&e, "path[0]"), ["a+b"]);
}

#[test]
fn invalid_utf8_is_decoded_lossily_and_the_request_still_parses() {
    let e = extract(b"GET /f\xff?x=a%FFb&y=c\xfe HTTP/1.1\r\nX-Name: n\xe9\r\n\r\n");
    assert_eq!(values(&e, "query.x"), ["a\u{FFFD}b"]);
    assert_eq!(values(&e, "query.y"), ["c\u{FFFD}"]);
    assert_eq!(values(&e, "path[0]"), ["f\u{FFFD}"]);
    assert_eq!(values(&e, "header.x-name"), ["n\u{FFFD}"]);
}

// ---------------------------------------------------------------------------------------
// Framing

#[test]
fn summary_reports_method_raw_path_and_query() {
    let e = extract(b"DELETE http://Example.com:8080/a%20b?x=%41 HTTP/1.1\r\n\r\n");
    assert_eq!(
        e.requests,
        [HttpSummary {
            method: "DELETE".into(),
            path: "/a%20b".into(),
            query: Some("x=%41".into()),
        }]
    );
}

#[test]
fn chunked_body_is_decoded() {
    let e = extract(
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\
          Content-Type: application/x-www-form-urlencoded\r\n\r\n\
          5;ext=1\r\ncmd=l\r\n7\r\ns%20-la\r\n0\r\nX-Trailer: t\r\n\r\n\
          GET /next?after=chunked HTTP/1.1\r\n\r\n",
    );
    assert_eq!(values(&e, "form.cmd"), ["ls -la"]);
    assert_eq!(values(&e, "query.after"), ["chunked"]);
    assert_eq!(e.requests.len(), 2);
}

#[test]
fn chunked_body_half_arrived_keeps_what_arrived() {
    let e = extract(
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\
          Content-Type: application/x-www-form-urlencoded\r\n\r\n\
          20\r\nname=x%27+OR+1",
    );
    assert_eq!(values(&e, "form.name"), ["x' OR 1"]);
}

#[test]
fn pipelined_requests_all_get_summaries_and_inputs() {
    let e = extract(
        b"GET /one?a=first HTTP/1.1\r\nHost: h\r\n\r\n\
          POST /two HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 8\r\n\r\nb=second\
          \r\nGET /three?c=third HTTP/1.0\r\n\r\n",
    );
    let paths: Vec<&str> = e.requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/one", "/two", "/three"]);
    assert!(has(&e, "query.a", "first"));
    assert!(has(&e, "form.b", "second"));
    assert!(has(&e, "query.c", "third"));
}

#[test]
fn request_with_headers_still_arriving_uses_the_complete_lines() {
    let e = extract(b"GET /p?q=1 HTTP/1.1\r\nHost: h\r\nX-Done: yes\r\nX-Half: par");
    assert_eq!(e.requests.len(), 1);
    assert!(has(&e, "query.q", "1"));
    assert!(has(&e, "header.x-done", "yes"));
    assert!(!has_origin(&e, "header.x-half"));
}

#[test]
fn body_half_arrived_keeps_what_arrived() {
    let e = extract(
        b"POST / HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 100\r\n\r\nfile=..%2F..%2Fetc%2Fpasswd&mo",
    );
    assert!(has(&e, "form.file", "../../etc/passwd"));
    assert!(has(&e, "formkey", "mo"));
}

#[test]
fn truncated_garbage_after_a_request_line_does_not_break_extraction() {
    let e = extract(b"GET /x?a=b HTTP/1.1\r\n\x00\xff\xfe: \x01\r\n\x80\x81 broken\r\nHos");
    assert!(has(&e, "query.a", "b"));
    let e = extract(b"GET /x HTTP/1.1\r\n\r\nthis is not a request\r\n\r\n");
    assert_eq!(e.requests.len(), 1);
}

#[test]
fn non_http_bytes_return_none() {
    let limits = ExtractionSettings::default();
    let cases: [&[u8]; 8] = [
        b"",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"SSH-2.0-OpenSSH_9.6\r\n",
        b"*1\r\n$4\r\nPING\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"GET /index.html\r\n",
        b"GET /a?b=c HTTP/1.1",
        b"EHLO mail.example.com\r\n",
    ];
    for case in cases {
        assert!(
            extract_http(case, &limits).is_none(),
            "{:?}",
            String::from_utf8_lossy(case)
        );
    }
}

// ---------------------------------------------------------------------------------------
// Limits and hygiene

#[test]
fn input_count_limit_is_respected() {
    let query: Vec<String> = (0..100).map(|i| format!("p{i}=v{i}")).collect();
    let request = format!("GET /?{} HTTP/1.1\r\n\r\n", query.join("&"));
    let limits = ExtractionSettings {
        max_inputs: 10,
        ..ExtractionSettings::default()
    };
    let e = extract_with(request.as_bytes(), &limits);
    assert_eq!(e.inputs.len(), 10);
}

#[test]
fn padding_with_short_parameters_cannot_push_out_a_payload() {
    let padding: Vec<String> = (0..600).map(|i| format!("{i}=1")).collect();
    let request = format!(
        "GET /?{}&q=%27%20UNION%20SELECT%20password HTTP/1.1\r\n\r\n",
        padding.join("&")
    );
    let e = extract(request.as_bytes());
    assert_eq!(e.inputs.len(), ExtractionSettings::default().max_inputs);
    assert!(has(&e, "query.q", "' UNION SELECT password"));
}

#[test]
fn total_bytes_limit_is_respected() {
    let request = format!("GET /?a={}&b=short HTTP/1.1\r\n\r\n", "x".repeat(5000));
    let limits = ExtractionSettings {
        max_total_bytes: 1000,
        ..ExtractionSettings::default()
    };
    let e = extract_with(request.as_bytes(), &limits);
    let total: usize = e.inputs.iter().map(|i| i.value.len()).sum();
    assert!(total <= 1000);
    assert!(has(&e, "query.b", "short"));
    assert!(!has_origin(&e, "query.a"));
}

#[test]
fn json_origin_depth_is_capped_by_max_depth() {
    let body = r#"{"a":{"b":{"c":{"d":"deep"}}}}"#;
    let request = format!(
        "POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let limits = ExtractionSettings {
        max_depth: 2,
        ..ExtractionSettings::default()
    };
    let e = extract_with(request.as_bytes(), &limits);
    assert_eq!(values(&e, "json.a.b"), ["deep"]);
    assert_eq!(values(&e, "jsonkey.a.b"), ["c", "d"]);
}

#[test]
fn empty_values_are_dropped_and_identical_pairs_kept_once() {
    let e = extract(b"GET /?a=&b=x&b=x&=&c HTTP/1.1\r\nX-Empty:\r\n\r\n");
    assert!(!has_origin(&e, "query.a"));
    assert!(!has_origin(&e, "header.x-empty"));
    assert_eq!(values(&e, "query.b"), ["x", "x,x"]);
    let mut pairs: Vec<(&str, &str)> = e.inputs.iter().map(|i| (i.origin, i.value)).collect();
    let before = pairs.len();
    pairs.sort_unstable();
    pairs.dedup();
    assert_eq!(pairs.len(), before);
    assert!(e.inputs.iter().all(|i| !i.value.is_empty()));
}

// ---------------------------------------------------------------------------------------
// Raw correlation

#[test]
fn raw_correlation_finds_the_received_payload_in_the_sink() {
    let raw = b"\x00\x01LOGIN user=admin' OR '1'='1 pass=x\x00";
    let found = common_substrings(raw, "SELECT * FROM u WHERE name='admin' OR '1'='1'", 8);
    assert_eq!(found, [Input::new("raw", "admin' OR '1'='1")]);
}

#[test]
fn raw_correlation_ignores_runs_shorter_than_the_minimum() {
    assert!(common_substrings(b"abcdefg", "xxabcdefgxx", 8).is_empty());
    assert_eq!(common_substrings(b"abcdefgh", "xxabcdefgxx", 7).len(), 1);
}

#[test]
fn raw_correlation_values_are_substrings_of_the_argument_on_char_boundaries() {
    // The received bytes share only part of the two-byte `é` with the argument.
    let raw = b"\xc3XXXXXXXXXX";
    let found = common_substrings(raw, "\u{e9}XXXXXXXXXX", 8);
    assert_eq!(found, [Input::new("raw", "XXXXXXXXXX")]);
}

#[test]
fn raw_correlation_is_bounded_and_fast_on_repetitive_data() {
    let raw = vec![b'a'; 64 * 1024];
    let arg = "a".repeat(4096);
    let start = std::time::Instant::now();
    let found = common_substrings(&raw, &arg, 8);
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(found, [Input::new("raw", arg.as_str())]);

    let many: String = (0..100).map(|i| format!("{i:08}|")).collect();
    let found = common_substrings(many.as_bytes(), &many.replace('|', "#"), 8);
    assert_eq!(found.len(), MAX_MATCHES);
}
