//! User inputs: decoded values that arrived from the network, each tagged with where it came from.
//!
//! Three shapes of the same thing:
//!
//! * [`Inputs`] — every input of one request, stored in a single arena string with two small
//!   ranges (origin, value) per input; inputs share text where they can (a value taken
//!   verbatim from the request is a range of its copy). Extraction builds it with a handful of
//!   allocations whatever the number of inputs; a checkout form yields over a hundred, and one
//!   heap string each would cost more than parsing the request.
//! * [`InputRef`] — a borrowed view of one input; what the detectors read.
//! * [`Input`] — an owned input; what a [`crate::Finding`] keeps, and what raw correlation
//!   produces.
//!
//! [`InputSet`] (in `set`) adds the matcher that answers "which inputs occur in this sink
//! argument?".

mod set;

use serde::Serialize;

pub use set::InputSet;

/// One user-controlled value, owned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Input {
    /// Where the value came from, e.g. `query.id`, `json.user.name`, `header.user-agent`,
    /// `cookie.sid`, `path[2]`, `multipart.file.filename`, `raw` for non-HTTP traffic.
    pub origin: String,
    /// The decoded value as the application sees it (lossy UTF-8).
    pub value: String,
}

impl Input {
    /// Builds an input from an origin and a value.
    pub fn new(origin: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            value: value.into(),
        }
    }

    /// A borrowed view of this input.
    pub fn view(&self) -> InputRef<'_> {
        InputRef {
            origin: &self.origin,
            value: &self.value,
        }
    }
}

/// One user-controlled value, borrowed (from an [`Inputs`] arena or an [`Input`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct InputRef<'a> {
    /// Where the value came from (see [`Input::origin`]).
    pub origin: &'a str,
    /// The decoded value as the application sees it.
    pub value: &'a str,
}

impl InputRef<'_> {
    /// An owned copy, for a finding that outlives the request.
    pub fn to_input(self) -> Input {
        Input::new(self.origin, self.value)
    }
}

/// A range of the arena's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Text {
    start: u32,
    end: u32,
}

impl Text {
    /// Bytes `start..end` of `self`, when they lie within it. The caller picks offsets on char
    /// boundaries (reading a range that is not would give an empty string, never a panic).
    pub(crate) fn within(self, start: usize, end: usize) -> Option<Self> {
        let len = (self.end - self.start) as usize;
        if start > end || end > len {
            return None;
        }
        // Both are at most `self.end`, which fits.
        Some(Self {
            start: self.start + start as u32,
            end: self.start + end as u32,
        })
    }

    /// Length in bytes.
    pub(crate) fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// Where one input's origin and value lie in the arena; inputs may share text.
#[derive(Debug, Clone, Copy)]
struct Span {
    origin: Text,
    value: Text,
}

/// The inputs of one request, in one arena.
///
/// Invariants: every text range lies inside `text` on char boundaries (it was appended as a
/// `&str`, or checked with `str::get`, or is a sub-range of such a range that the caller
/// found on char boundaries), so reading it back cannot fail; offsets fit in `u32`,
/// so the arena never grows past 4 GiB (an append that would is refused). Extraction starts the
/// arena with a copy of the captured bytes (their valid UTF-8 prefix), so that values taken
/// verbatim from the request are ranges of it rather than copies; decoded values and built
/// origins are appended. The arena therefore stays within a small multiple of the captured
/// bytes.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    text: String,
    spans: Vec<Span>,
}

impl Inputs {
    /// An empty list with room for `inputs` inputs and `bytes` bytes of origins and values.
    pub fn with_capacity(inputs: usize, bytes: usize) -> Self {
        Self {
            text: String::with_capacity(bytes),
            spans: Vec::with_capacity(inputs),
        }
    }

    /// An empty list whose arena starts with `source` (see [`Inputs::source_text`]), with
    /// room for `inputs` inputs and `extra` more bytes. `None` when `source` passes 4 GiB.
    pub(crate) fn with_source(source: &str, inputs: usize, extra: usize) -> Option<Self> {
        u32::try_from(source.len()).ok()?;
        let mut text = String::with_capacity(source.len().saturating_add(extra));
        text.push_str(source);
        Some(Self {
            text,
            spans: Vec::with_capacity(inputs),
        })
    }

    /// Number of inputs.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when there is no input.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Appends an input; false (and nothing stored) when the arena would pass 4 GiB.
    pub fn push(&mut self, origin: &str, value: &str) -> bool {
        let mark = self.text_len();
        match (self.append(origin), self.append(value)) {
            (Some(origin), Some(value)) => {
                self.push_span(origin, value);
                true
            }
            _ => {
                self.truncate_text(mark);
                false
            }
        }
    }

    /// Bytes of text in the arena.
    pub(crate) fn text_len(&self) -> usize {
        self.text.len()
    }

    /// Appends `s` to the arena; `None` (nothing appended) when it would pass 4 GiB.
    pub(crate) fn append(&mut self, s: &str) -> Option<Text> {
        self.append_with(|w| w.push_str(s))
    }

    /// Appends what `write` writes; `None` (nothing appended) when the arena would pass
    /// 4 GiB.
    pub(crate) fn append_with(&mut self, write: impl FnOnce(&mut TextWriter<'_>)) -> Option<Text> {
        let start = self.text.len();
        write(&mut TextWriter {
            text: &mut self.text,
        });
        match u32::try_from(self.text.len()) {
            // `start` is at most `end`, which fits.
            Ok(end) => Some(Text {
                start: start as u32,
                end,
            }),
            Err(_) => {
                self.text.truncate(start);
                None
            }
        }
    }

    /// The range `start..end` of the arena, where the caller found a `&str` equal to the
    /// arena's bytes there (so on char boundaries: a `&str` inside valid UTF-8 cannot start or
    /// end within a character); `None` when it does not lie in the arena.
    pub(crate) fn str_at(&self, start: usize, end: usize) -> Option<Text> {
        // Within the text, which fits in `u32`.
        (start <= end && end <= self.text.len()).then_some(Text {
            start: start as u32,
            end: end as u32,
        })
    }

    /// The text of a range.
    pub(crate) fn slice(&self, t: Text) -> &str {
        self.text.get(t.range()).unwrap_or("")
    }

    /// The bytes of a range (no char boundary checks).
    pub(crate) fn text_bytes(&self, t: Text) -> &[u8] {
        self.text.as_bytes().get(t.range()).unwrap_or_default()
    }

    /// Takes back `t` when it is the text appended last. The caller knows that no input
    /// uses it.
    pub(crate) fn discard(&mut self, t: Text) {
        if t.end as usize == self.text.len() {
            self.text.truncate(t.start as usize);
        }
    }

    /// Drops the arena's text from `len` on; the caller guarantees that no input refers to it.
    pub(crate) fn truncate_text(&mut self, len: usize) {
        self.text.truncate(len);
    }

    /// Adds an input made of two ranges of the arena; returns its index.
    pub(crate) fn push_span(&mut self, origin: Text, value: Text) -> usize {
        self.spans.push(Span { origin, value });
        self.spans.len() - 1
    }

    /// Makes input `i` the one made of these ranges (the old one's text stays); nothing
    /// happens when `i` is out of range.
    pub(crate) fn set_span(&mut self, i: usize, origin: Text, value: Text) {
        if let Some(slot) = self.spans.get_mut(i) {
            *slot = Span { origin, value };
        }
    }

    /// Input `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<InputRef<'_>> {
        self.spans.get(i).map(|s| self.view(*s))
    }

    /// The value of input `i` (empty when out of range); cheaper than [`Inputs::get`].
    pub fn value(&self, i: usize) -> &str {
        self.spans.get(i).map_or("", |s| self.slice(s.value))
    }

    /// The value bytes of input `i` (empty when out of range; no char boundary checks).
    pub(crate) fn value_bytes(&self, i: usize) -> &[u8] {
        self.spans.get(i).map_or(&[], |s| self.text_bytes(s.value))
    }

    /// The origin and value bytes of input `i` (cheaper than [`Inputs::get`]: no char
    /// boundary checks).
    pub(crate) fn bytes(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let s = self.spans.get(i)?;
        let text = self.text.as_bytes();
        Some((text.get(s.origin.range())?, text.get(s.value.range())?))
    }

    /// Every input, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = InputRef<'_>> + '_ {
        self.spans.iter().map(|s| self.view(*s))
    }

    /// True when an input has exactly this origin and value.
    pub fn contains(&self, origin: &str, value: &str) -> bool {
        self.iter().any(|i| i.origin == origin && i.value == value)
    }

    fn view(&self, s: Span) -> InputRef<'_> {
        InputRef {
            origin: self.slice(s.origin),
            value: self.slice(s.value),
        }
    }
}

/// Appends text to the arena; it can only add text, so the arena's earlier ranges stay valid.
pub(crate) struct TextWriter<'a> {
    text: &'a mut String,
}

impl TextWriter<'_> {
    /// Appends `s`.
    pub(crate) fn push_str(&mut self, s: &str) {
        self.text.push_str(s);
    }

    /// Appends `s` in ASCII lowercase.
    pub(crate) fn push_lowercase(&mut self, s: &str) {
        let start = self.text.len();
        self.text.push_str(s);
        if let Some(tail) = self.text.get_mut(start..) {
            tail.make_ascii_lowercase();
        }
    }
}

impl FromIterator<Input> for Inputs {
    fn from_iter<T: IntoIterator<Item = Input>>(iter: T) -> Self {
        let mut inputs = Self::default();
        for i in iter {
            inputs.push(&i.origin, &i.value);
        }
        inputs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_keep_origin_and_value_apart_and_in_order() {
        let mut inputs = Inputs::default();
        assert!(inputs.push("query.a", "1"));
        assert!(inputs.push("", "ünïcode"));
        assert!(inputs.push("query.b", ""));
        let all: Vec<_> = inputs.iter().map(|i| (i.origin, i.value)).collect();
        assert_eq!(all, [("query.a", "1"), ("", "ünïcode"), ("query.b", "")]);
        assert_eq!(inputs.value(1), "ünïcode");
        assert_eq!(inputs.value(9), "");
        assert!(inputs.contains("query.a", "1"));
        assert!(!inputs.contains("query.a", "2"));
    }

    #[test]
    fn spans_share_text_and_set_span_replaces_in_place() {
        let mut inputs = Inputs::with_source("GET /a?q=val", 4, 64).unwrap_or_default();
        let value = inputs.str_at(9, 12);
        let origin = inputs.append_with(|w| w.push_lowercase("Query.Q"));
        let (Some(origin), Some(value)) = (origin, value) else {
            panic!("ranges");
        };
        inputs.push_span(origin, value);
        inputs.push("b", "y");
        inputs.set_span(1, origin, value.within(0, 2).unwrap_or(value));
        inputs.set_span(5, origin, value);
        let all: Vec<_> = inputs.iter().map(InputRef::to_input).collect();
        assert_eq!(
            all,
            [Input::new("query.q", "val"), Input::new("query.q", "va")]
        );
        assert!(inputs.str_at(0, 99).is_none());
        assert!(value.within(2, 4).is_none());
    }
}
