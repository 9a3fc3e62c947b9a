//! Input extraction: what the agent spends per captured request before any sink is checked.
//!
//! * `extract/http_2k_*` — a realistic 2 KiB request (request line with a query, 15 headers
//!   with cookies, a urlencoded or JSON body) through `extract_http`, and through
//!   `Engine::context`, which also builds the request's `InputSet`. Target ≤ 5 µs.
//! * `extract/json_body/*` — a JSON API request with a 16 KiB and a 64 KiB body, to show the
//!   cost is linear in the body (compare the two per-byte throughputs).
//!
//! Run with `make bench` (or `cargo bench -p librasp-policy --bench extract`); see
//! `benches/README.md` at the top of the repository for the numbers.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use policy::config::ExtractionSettings;
use policy::extract::extract_http;
use policy::{Engine, Policy};

/// Request line and the 15 headers shared by the 2 KiB requests (cookies included).
fn head(content_type: &str, body_len: usize) -> String {
    format!(
        "POST /api/v2/orders/checkout?cart=8841279&step=payment&currency=EUR&ref=summer%20sale%202024&utm_source=newsletter&utm_medium=email HTTP/1.1\r\n\
         Host: shop.example.com\r\n\
         User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0\r\n\
         Accept: application/json, text/plain, */*\r\n\
         Accept-Language: en-GB,en;q=0.8,de;q=0.5\r\n\
         Accept-Encoding: gzip, deflate, br\r\n\
         Referer: https://shop.example.com/cart?coupon=SUMMER24\r\n\
         Origin: https://shop.example.com\r\n\
         Content-Type: {content_type}\r\n\
         Content-Length: {body_len}\r\n\
         X-Requested-With: XMLHttpRequest\r\n\
         X-Request-Id: 4f1d2c3b-9a8e-4b7c-8d6e-5f4a3b2c1d0e\r\n\
         X-Forwarded-For: 203.0.113.195, 70.41.3.18, 150.172.238.178\r\n\
         Cookie: session=a9f8e7d6c5b4a39281706f5e4d3c2b1a; csrftoken=Zx81Qw92Er73Ty64Ui55Op46As37; theme=dark; lang=en-GB; _ga=GA1.2.1234567890.1718000000; cart_id=8841279; consent=%7B%22ads%22%3Afalse%2C%22stats%22%3Atrue%7D\r\n\
         Connection: keep-alive\r\n\
         Sec-Fetch-Mode: cors\r\n\
         \r\n"
    )
}

/// A checkout form: about 2 KiB with the head above.
fn form_request() -> Vec<u8> {
    let body = "first_name=Margaret&last_name=Hamilton&email=margaret.h%40example.org&\
                phone=%2B44+20+7946+0958&street=221B+Baker+Street&city=London&zip=NW1+6XE&\
                country=GB&shipping=express&gift_wrap=on&gift_message=Happy+birthday%21+\
                Enjoy+the+new+headphones+%E2%99%AA&card_holder=M+HAMILTON&\
                card_token=tok_1PQrStUvWxYz0123456789ab&save_card=1&newsletter=0&\
                items%5B0%5D%5Bsku%5D=SKU-889123-BLK&items%5B0%5D%5Bqty%5D=1&\
                items%5B1%5D%5Bsku%5D=SKU-112358-WHT&items%5B1%5D%5Bqty%5D=2&\
                items%5B2%5D%5Bsku%5D=SKU-314159-RED&items%5B2%5D%5Bqty%5D=1&\
                coupon=SUMMER24&note=please+leave+at+the+back+door+if+nobody+answers&\
                delivery_window=2024-06-14T09%3A00%2F2024-06-14T13%3A00&terms=accepted&\
                tracking_opt_in=yes&locale=en_GB&timezone=Europe%2FLondon&\
                screen=1920x1080&fingerprint=5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b&\
                billing_same=1&billing_street=221B+Baker+Street&billing_city=London&\
                billing_zip=NW1+6XE&company=&vat_id=GB123456789&po_number=PO-2024-0617&\
                referral=friend&referral_code=MHAM-7731&survey%5Bsource%5D=podcast&\
                survey%5Brating%5D=5&survey%5Bcomment%5D=great+service%2C+fast+delivery";
    let mut req = head("application/x-www-form-urlencoded", body.len()).into_bytes();
    req.extend_from_slice(body.as_bytes());
    req
}

/// The same checkout as a JSON API call: about 2 KiB.
fn json_request() -> Vec<u8> {
    let body = r#"{"customer":{"first_name":"Margaret","last_name":"Hamilton","email":"margaret.h@example.org","phone":"+44 20 7946 0958"},"shipping":{"street":"221B Baker Street","city":"London","zip":"NW1 6XE","country":"GB","method":"express","window":"2024-06-14T09:00/2024-06-14T13:00"},"gift":{"wrap":true,"message":"Happy birthday! Enjoy the new headphones \u266a"},"payment":{"holder":"M HAMILTON","token":"tok_1PQrStUvWxYz0123456789ab","save":true},"items":[{"sku":"SKU-889123-BLK","qty":1,"price":129.99},{"sku":"SKU-112358-WHT","qty":2,"price":24.5},{"sku":"SKU-314159-RED","qty":1,"price":9.95}],"coupon":"SUMMER24","note":"please leave at the back door if nobody answers","newsletter":false,"locale":"en_GB","timezone":"Europe/London","client":{"screen":"1920x1080","fingerprint":"5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b","version":"web-7.12.3"},"billing":{"same_as_shipping":true,"vat_id":"GB123456789","po_number":"PO-2024-0617"},"referral":{"source":"friend","code":"MHAM-7731"},"survey":{"source":"podcast","rating":5}}"#;
    let mut req = head("application/json", body.len()).into_bytes();
    req.extend_from_slice(body.as_bytes());
    req
}

/// A JSON API request whose body is an array of records, at least `body_len` bytes.
fn large_json_request(body_len: usize) -> Vec<u8> {
    let mut body = String::from("{\"records\":[");
    let mut i = 0;
    while body.len() < body_len {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            r#"{{"id":{i},"name":"customer number {i}","email":"user{i}@example.org","tags":["retail","eu","tier-{t}"],"address":{{"street":"{i} High Street","city":"Leeds"}},"active":true,"score":{s}.5}}"#,
            t = i % 4,
            s = i * 7 % 100,
        ));
        i += 1;
    }
    body.push_str("]}");
    let mut req = head("application/json", body.len()).into_bytes();
    req.extend_from_slice(body.as_bytes());
    req
}

fn http_2k(c: &mut Criterion) {
    let limits = ExtractionSettings::default();
    let engine = Engine::new(Policy::default());
    let mut g = c.benchmark_group("extract");
    for (name, req) in [("form", form_request()), ("json", json_request())] {
        assert!(
            (1800..=2300).contains(&req.len()),
            "{name}: {} bytes",
            req.len()
        );
        let extracted = extract_http(&req, &limits).expect("an HTTP request");
        assert!(
            extracted.inputs.len() > 40,
            "{name}: {}",
            extracted.inputs.len()
        );
        g.throughput(Throughput::Bytes(req.len() as u64));
        g.bench_function(format!("http_2k_{name}/extract_http"), |b| {
            b.iter(|| extract_http(black_box(&req), black_box(&limits)))
        });
        g.bench_function(format!("http_2k_{name}/engine_context"), |b| {
            b.iter(|| engine.context(black_box(&req)))
        });
    }
    g.finish();
}

fn json_body(c: &mut Criterion) {
    let limits = ExtractionSettings::default();
    let mut g = c.benchmark_group("extract/json_body");
    for kib in [16, 64] {
        let req = large_json_request(kib * 1024);
        let extracted = extract_http(&req, &limits).expect("an HTTP request");
        assert!(extracted.inputs.len() > 100);
        g.throughput(Throughput::Bytes(req.len() as u64));
        g.bench_function(format!("{kib}k/extract_http"), |b| {
            b.iter(|| extract_http(black_box(&req), black_box(&limits)))
        });
    }
    g.finish();
}

/// Runs every bench with a short warm-up and measurement (overridable on the command line:
/// `--warm-up-time`, `--measurement-time`), as `criterion_main!` would.
fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    http_2k(&mut c);
    json_body(&mut c);
    c.final_summary();
}
