//! HTML building blocks: escaping of event text and single-pass template filling.

use std::fmt;

/// Text escaped for HTML element content and quoted attribute values, written as it is
/// displayed: `&`, `<`, `>`, `"` and `'` become character references.
pub(super) struct Esc<'a>(&'a str);

/// Escapes `text` for HTML (see [`Esc`]).
pub(super) fn esc(text: &str) -> Esc<'_> {
    Esc(text)
}

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            let (plain, special) = rest.split_at(at);
            f.write_str(plain)?;
            let mut chars = special.chars();
            let reference = match chars.next() {
                Some('&') => "&amp;",
                Some('<') => "&lt;",
                Some('>') => "&gt;",
                Some('"') => "&quot;",
                _ => "&#39;",
            };
            f.write_str(reference)?;
            rest = chars.as_str();
        }
        f.write_str(rest)
    }
}

/// Replaces each `{{name}}` of `template` by its value in `values`, in one pass over the
/// template only: a value that itself contains `{{name}}` (event text can) is never expanded.
/// Unknown placeholders are left as they are.
pub(super) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + values.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let (before, tail) = rest.split_at(open);
        out.push_str(before);
        let value = tail.get(2..).and_then(|inner| {
            let close = inner.find("}}")?;
            let name = inner.get(..close)?;
            let (_, value) = values.iter().find(|(n, _)| *n == name)?;
            Some((value, close + 4))
        });
        match value {
            Some((value, skip)) => {
                out.push_str(value);
                rest = tail.get(skip..).unwrap_or_default();
            }
            None => {
                out.push_str("{{");
                rest = tail.get(2..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x" & 'y')</script>"#).to_string(),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(esc("plain é ✓").to_string(), "plain é ✓");
    }

    #[test]
    fn fills_in_one_pass() {
        let page = fill(
            "<h1>{{a}}</h1>{{b}}{{unknown}}{{",
            &[("a", "{{b}}"), ("b", "B")],
        );
        assert_eq!(page, "<h1>{{b}}</h1>B{{unknown}}{{");
    }
}
