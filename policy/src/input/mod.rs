//! User inputs: decoded values that arrived from the network, each tagged with where it came from.
//!
//! Three shapes of the same thing:
//!
//! * [`Inputs`] — every input of one request, stored in a single arena string (origins and
//!   values back to back) with one small span per input. Extraction builds it with a handful of
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

impl PartialEq<Input> for InputRef<'_> {
    fn eq(&self, other: &Input) -> bool {
        self.origin == other.origin && self.value == other.value
    }
}

/// Where one input lives in the arena: the origin is `text[origin..value]`, the value
/// `text[value..end]`.
#[derive(Debug, Clone, Copy)]
struct Span {
    origin: u32,
    value: u32,
    end: u32,
}

/// The inputs of one request, in one arena.
///
/// Invariants: every span lies inside `text` on char boundaries (both parts were pushed as
/// `&str`); offsets fit in `u32`, so the arena never grows past 4 GiB (a push that would is
/// refused). Replacing an input (`move_last_to`) leaves its bytes behind as garbage; the
/// extractor replaces only when a strictly longer value arrives under its byte budget, so the
/// arena stays within a small multiple of the bytes extracted.
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
        self.push_with(|o| o.push_str(origin), value).is_some()
    }

    /// Appends an input whose origin `write_origin` writes straight into the arena (saving a
    /// copy through a scratch buffer); returns its index, `None` (nothing stored) when the
    /// arena would pass 4 GiB.
    pub(crate) fn push_with(
        &mut self,
        write_origin: impl FnOnce(&mut OriginWriter<'_>),
        value: &str,
    ) -> Option<usize> {
        let start = self.text.len();
        write_origin(&mut OriginWriter {
            text: &mut self.text,
        });
        let value_at = self.text.len();
        self.text.push_str(value);
        let Ok(end) = u32::try_from(self.text.len()) else {
            self.text.truncate(start);
            return None;
        };
        // Both are at most `end`, which fits.
        self.spans.push(Span {
            origin: start as u32,
            value: value_at as u32,
            end,
        });
        Some(self.spans.len() - 1)
    }

    /// Removes the last input; its bytes are reclaimed when they end the arena.
    pub(crate) fn pop(&mut self) {
        if let Some(span) = self.spans.pop() {
            if span.end as usize == self.text.len() {
                self.text.truncate(span.origin as usize);
            }
        }
    }

    /// Moves the last input into slot `i`, replacing the input there (whose bytes stay behind
    /// as garbage); nothing happens when `i` is out of range.
    pub(crate) fn move_last_to(&mut self, i: usize) {
        if i + 1 < self.spans.len() {
            if let Some(last) = self.spans.pop() {
                if let Some(slot) = self.spans.get_mut(i) {
                    *slot = last;
                }
            }
        }
    }

    /// Input `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<InputRef<'_>> {
        self.spans.get(i).map(|s| self.view(*s))
    }

    /// The value of input `i` (empty when out of range); cheaper than [`Inputs::get`].
    pub fn value(&self, i: usize) -> &str {
        self.spans
            .get(i)
            .and_then(|s| self.text.get(s.value as usize..s.end as usize))
            .unwrap_or("")
    }

    /// The origin and value bytes of input `i` (cheaper than [`Inputs::get`]: no char
    /// boundary checks).
    pub(crate) fn bytes(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let s = self.spans.get(i)?;
        let text = self.text.as_bytes();
        Some((
            text.get(s.origin as usize..s.value as usize)?,
            text.get(s.value as usize..s.end as usize)?,
        ))
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
            origin: self
                .text
                .get(s.origin as usize..s.value as usize)
                .unwrap_or(""),
            value: self
                .text
                .get(s.value as usize..s.end as usize)
                .unwrap_or(""),
        }
    }
}

/// Appends an origin to the arena; it can only add text, so the arena's earlier spans stay
/// valid.
pub(crate) struct OriginWriter<'a> {
    text: &'a mut String,
}

impl OriginWriter<'_> {
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

impl<'a> FromIterator<InputRef<'a>> for Inputs {
    fn from_iter<T: IntoIterator<Item = InputRef<'a>>>(iter: T) -> Self {
        let mut inputs = Self::default();
        for i in iter {
            inputs.push(i.origin, i.value);
        }
        inputs
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
    fn pop_and_move_last_to_keep_the_other_inputs() {
        let mut inputs: Inputs = [Input::new("a", "x"), Input::new("b", "y")]
            .into_iter()
            .collect();
        inputs.push_with(|o| o.push_lowercase("C.Name"), "longer");
        inputs.move_last_to(0);
        inputs.move_last_to(5);
        let all: Vec<_> = inputs.iter().map(InputRef::to_input).collect();
        assert_eq!(all, [Input::new("c.name", "longer"), Input::new("b", "y")]);
        inputs.pop();
        inputs.push("d", "z");
        let all: Vec<_> = inputs.iter().map(InputRef::to_input).collect();
        assert_eq!(all, [Input::new("c.name", "longer"), Input::new("d", "z")]);
    }
}
