//! The agent uses the detection engine end to end: an attack that reaches the Python app
//! through each carrier a framework offers — query, urlencoded form, JSON body, multipart
//! field and file name, header, cookie, path segment — is found in the raw bytes, decoded, and
//! blocked at the sink.

use shim::{Sandbox, Server, enc, http};

const CMD_INJECTION: &str = "world; id";

fn post(server: &Server, path: &str, content_type: &str, body: &str) -> shim::Response {
    http(
        server.port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn get_with(server: &Server, path: &str, header: &str) -> shim::Response {
    http(
        server.port,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\n{header}\r\nConnection: close\r\n\r\n"),
    )
}

/// Asserts the app saw EACCES and the event names the carrier the input came from.
fn assert_blocked(sb: &Sandbox, r: &shim::Response, origin_prefix: &str) {
    assert!(
        r.body.contains("errno=13"),
        "{origin_prefix}: blocked with EACCES: {r:?}"
    );
    let ev = sb.wait_detection(origin_prefix, |e| {
        e["librasp"]["input"]["origin"]
            .as_str()
            .is_some_and(|o| o.starts_with(origin_prefix))
    });
    assert_eq!(ev["librasp"]["decision"], "block");
}

#[test]
fn urlencoded_form_field() {
    let sb = Sandbox::new("block", "");
    let server = sb.py_server();
    let r = post(
        &server,
        "/exec",
        "application/x-www-form-urlencoded",
        &format!("arg={}", enc(CMD_INJECTION)),
    );
    assert_blocked(&sb, &r, "form.arg");
}

#[test]
fn json_body_value_at_depth() {
    let sb = Sandbox::new("block", "");
    let server = sb.py_server();
    let body = r#"{"data": {"items": [{"arg": "world; id"}]}}"#;
    let r = post(&server, "/exec", "application/json", body);
    assert_blocked(&sb, &r, "json.data.items[0].arg");
}

#[test]
fn multipart_field_and_file_name() {
    let sb = Sandbox::new("block", "");
    let server = sb.py_server();
    let field =
        "--XyZ\r\nContent-Disposition: form-data; name=\"arg\"\r\n\r\nworld; id\r\n--XyZ--\r\n";
    let r = post(&server, "/exec", "multipart/form-data; boundary=XyZ", field);
    assert_blocked(&sb, &r, "multipart.arg");
    let file = "--XyZ\r\nContent-Disposition: form-data; name=\"arg\"; filename=\"../../../../../etc/hostname\"\r\nContent-Type: text/plain\r\n\r\ncontent\r\n--XyZ--\r\n";
    let r = post(&server, "/fopen", "multipart/form-data; boundary=XyZ", file);
    assert_blocked(&sb, &r, "multipart.arg.filename");
}

#[test]
fn custom_header() {
    let sb = Sandbox::new("block", "");
    let server = sb.py_server();
    let r = get_with(&server, "/exec", "X-Arg: world; id");
    assert_blocked(&sb, &r, "header.x-arg");
}

#[test]
fn cookie() {
    let sb = Sandbox::new("block", "");
    let server = sb.py_server();
    let r = get_with(
        &server,
        "/fopen",
        "Cookie: session=abc; arg=../../../../../etc/hostname",
    );
    assert_blocked(&sb, &r, "cookie.arg");
}

#[test]
fn path_segment() {
    let sb = Sandbox::new("block", "");
    let server = sb.py_server();
    let r = server.get(&format!("/p/{}/exec", enc(CMD_INJECTION)));
    assert_blocked(&sb, &r, "path");
}

#[test]
fn query_parameter() {
    let sb = Sandbox::new("block", "");
    let server = sb.py_server();
    let r = server.get(&format!("/exec?arg={}", enc(CMD_INJECTION)));
    assert_blocked(&sb, &r, "query.arg");
}

#[test]
fn benign_values_through_every_carrier_are_untouched() {
    let sb = Sandbox::new("block", "");
    let server = sb.py_server();
    let r = post(
        &server,
        "/exec",
        "application/json",
        r#"{"data": {"arg": "Zoë Smith"}}"#,
    );
    assert_eq!(r.body, "hello Zoë Smith\n", "{r:?}");
    let r = get_with(&server, "/exec", "X-Arg: plain-value");
    assert_eq!(r.body, "hello plain-value\n");
    let r = get_with(&server, "/fopen", "Cookie: arg=hello.txt");
    assert_eq!(r.body, "hello file\n");
    sb.assert_no_detection("benign carriers");
}
