//! The sensitive-file rule: paths that are worth an alert whoever asked for them.
//!
//! It runs on **every** `open` in the process, so the ordinary case must cost next to nothing:
//!
//! 1. An absolute path without `//`, `/./` or `/../` is used as is ([`needs_normalizing`] is
//!    one `memchr` pass over the slashes). Anything else is normalised lexically first.
//! 2. A relative path cannot be resolved without the working directory, which we do not track.
//!    It is matched *as if rooted at `/`* after its leading `..` segments are dropped:
//!    `../../etc/shadow` and `etc/shadow` (a daemon that `chdir("/")`) both test as
//!    `/etc/shadow`; `**/id_rsa`-style patterns match relative key paths on their own.
//! 3. A pre-filter rejects the path unless, for at least one pattern, the path starts with the
//!    pattern's literal head and ends with its literal tail (the plain characters before its
//!    first and after its last wildcard: `/proc/` … `/mem` for `/proc/*/mem`, `` … `id_rsa`
//!    for `**/id_rsa`). Globs are anchored at both ends, so every path a glob matches has both;
//!    the filter never hides a match. It costs a few short `starts_with`/`ends_with`
//!    comparisons per pattern, and only paths that pass reach the `GlobSet`.
//! 4. `/proc/self/root/…`, `/proc/thread-self/root/…` and `/proc/<pid>/root/…` are the root
//!    directory by another name; what follows them is matched too.
//!
//! Globs are compiled with `literal_separator`, so `*` stays within one segment
//! (`/proc/*/mem` does not match `/proc/1/task/2/mem`; write `**` for that). Invalid globs are
//! skipped. Symlinks are not resolved (the rule sees text, not the file system).

use std::borrow::Cow;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::normalize::{needs_normalizing, normalize};
use crate::finding::{Confidence, DetectorKind, Finding};

/// The sensitive-file globs, compiled with a cheap literal pre-filter.
#[derive(Debug, Clone)]
pub struct SensitiveMatcher {
    set: GlobSet,
    /// The valid globs, in `set`'s pattern order (for the finding's reason).
    patterns: Vec<String>,
    prefilter: Prefilter,
}

/// What a path must look like before the `GlobSet` is consulted.
#[derive(Debug, Clone)]
enum Prefilter {
    /// No valid glob: nothing is sensitive.
    Nothing,
    /// Some glob has no literal head or tail (e.g. `{a,b}`): every path goes to the `GlobSet`.
    Always,
    /// At least one pattern's anchors must fit.
    Anchors(Vec<Anchors>),
}

/// The literal head and tail of one glob.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Anchors {
    head: String,
    tail: String,
}

impl Anchors {
    /// Whether `path` could match the glob these anchors came from. The last byte of the head
    /// and of the tail are probed before the full comparisons: for ordinary paths one of them
    /// differs, so most patterns are dismissed with two byte loads.
    fn fit(&self, path: &str) -> bool {
        let (p, head, tail) = (path.as_bytes(), self.head.as_bytes(), self.tail.as_bytes());
        let probe = |at: usize, want: Option<&u8>| want.is_none_or(|w| p.get(at) == Some(w));
        p.len() >= head.len().max(tail.len())
            && probe(p.len().wrapping_sub(1), tail.last())
            && probe(head.len().wrapping_sub(1), head.last())
            && p.starts_with(head)
            && p.ends_with(tail)
    }
}

impl SensitiveMatcher {
    /// Compiles `globs`; invalid ones are skipped.
    pub fn new(globs: &[String]) -> Self {
        let mut builder = GlobSetBuilder::new();
        let mut patterns = Vec::new();
        let mut anchors = Vec::new();
        let mut every_glob_anchored = true;
        for glob in globs {
            let Ok(compiled) = GlobBuilder::new(glob).literal_separator(true).build() else {
                continue;
            };
            builder.add(compiled);
            patterns.push(glob.clone());
            match anchors_of(glob) {
                Some(a) => anchors.push(a),
                None => every_glob_anchored = false,
            }
        }
        let set = builder.build().unwrap_or_else(|_| GlobSet::empty());
        let prefilter = if patterns.is_empty() || set.is_empty() {
            Prefilter::Nothing
        } else if every_glob_anchored {
            Prefilter::Anchors(anchors)
        } else {
            Prefilter::Always
        };
        Self {
            set,
            patterns,
            prefilter,
        }
    }

    /// A [`DetectorKind::SensitiveFiles`] finding when `path` names a sensitive file.
    pub fn check(&self, path: &str) -> Option<Finding> {
        if matches!(self.prefilter, Prefilter::Nothing) {
            return None;
        }
        let candidate: Cow<'_, str> = if path.starts_with('/') && !needs_normalizing(path) {
            Cow::Borrowed(path)
        } else {
            Cow::Owned(rooted(path))
        };
        // Each alias strips at least `/proc/x/root`, so this ends within the path's length.
        let mut tested: &str = &candidate;
        let glob = loop {
            if let Some(glob) = self.matching(tested) {
                break glob;
            }
            tested = proc_root_alias(tested)?;
        };
        let shown = if tested == path {
            format!("`{path}`")
        } else {
            format!("`{path}` (as `{tested}`)")
        };
        Some(Finding {
            detector: DetectorKind::SensitiveFiles,
            rule_id: "sensitive_files.access".into(),
            input: None,
            span: None,
            reason: format!("{shown} matches the sensitive-file pattern `{glob}`"),
            confidence: Confidence::Medium,
        })
    }

    /// The first glob matching the absolute, normalised `path`.
    fn matching(&self, path: &str) -> Option<&str> {
        match &self.prefilter {
            Prefilter::Nothing => return None,
            Prefilter::Always => {}
            Prefilter::Anchors(anchors) => {
                if !anchors.iter().any(|a| a.fit(path)) {
                    return None;
                }
            }
        }
        let first = self.set.matches(path).into_iter().next()?;
        self.patterns.get(first).map(String::as_str)
    }
}

/// `path` normalised and, when relative, rooted at `/` with its leading `..` dropped.
fn rooted(path: &str) -> String {
    let walk = normalize(path);
    let mut out = String::with_capacity(path.len() + 1);
    for seg in walk.segments().iter().filter(|s| **s != "..") {
        out.push('/');
        out.push_str(seg);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// For `/proc/{self,thread-self,<pid>}/root/REST`, the path `/REST` the kernel resolves it to.
fn proc_root_alias(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/proc/")?;
    let (who, rest) = rest.split_once('/')?;
    let is_process = who == "self"
        || who == "thread-self"
        || (!who.is_empty() && who.bytes().all(|b| b.is_ascii_digit()));
    if !is_process {
        return None;
    }
    let rest = rest.strip_prefix("root")?;
    rest.starts_with('/').then_some(rest)
}

/// One element of a glob, as far as anchors are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// A character matched literally.
    Plain(char),
    /// `**`: any number of segments, including none (so adjacent `/` are optional).
    Globstar,
    /// `*`, `?`, `[…]` or `{…}`.
    Wild,
}

/// Splits a glob into [`Token`]s (`\` escapes the next character).
fn tokens(glob: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        let token = match c {
            '\\' => chars.next().map_or(Token::Wild, Token::Plain),
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                Token::Globstar
            }
            '*' | '?' => Token::Wild,
            '[' => {
                // A `]` right after `[` or `[!` is a member, not the end.
                if matches!(chars.peek(), Some('!' | '^')) {
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    chars.next();
                }
                chars.by_ref().find(|&x| x == ']');
                Token::Wild
            }
            '{' => {
                chars.by_ref().find(|&x| x == '}');
                Token::Wild
            }
            plain => Token::Plain(plain),
        };
        out.push(token);
    }
    out
}

/// The literal head and tail of `glob`; `None` when both are empty (nothing to filter on).
/// A `/` next to `**` is left out, since `**` may match no segment at all.
fn anchors_of(glob: &str) -> Option<Anchors> {
    let toks = tokens(glob);
    let text = |slice: &[Token]| -> String {
        slice
            .iter()
            .filter_map(|t| match t {
                Token::Plain(c) => Some(*c),
                _ => None,
            })
            .collect()
    };
    let is_plain = |t: &&Token| matches!(t, Token::Plain(_));
    let head_len = toks.iter().take_while(is_plain).count();
    if head_len == toks.len() {
        // No wildcard: the glob is a literal path, head and tail are all of it.
        let all = text(&toks);
        return Some(Anchors {
            head: all.clone(),
            tail: all,
        });
    }
    let tail_start = toks.len() - toks.iter().rev().take_while(is_plain).count();
    let mut head = text(toks.get(..head_len)?);
    let mut tail = text(toks.get(tail_start..)?);
    if toks.get(head_len) == Some(&Token::Globstar) && head.ends_with('/') {
        head.pop();
    }
    let before_tail = tail_start.checked_sub(1).and_then(|i| toks.get(i));
    if before_tail == Some(&Token::Globstar) && tail.starts_with('/') {
        tail.remove(0);
    }
    (!head.is_empty() || !tail.is_empty()).then_some(Anchors { head, tail })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SensitiveFilesSettings;

    fn default_matcher() -> SensitiveMatcher {
        SensitiveMatcher::new(&SensitiveFilesSettings::default().paths)
    }

    #[test]
    fn anchors_are_the_literal_head_and_tail() {
        let a = |g: &str| anchors_of(g).map(|a| (a.head, a.tail));
        let pair = |h: &str, t: &str| Some((h.to_owned(), t.to_owned()));
        assert_eq!(a("/etc/shadow"), pair("/etc/shadow", "/etc/shadow"));
        assert_eq!(a("/proc/*/mem"), pair("/proc/", "/mem"));
        assert_eq!(a("/root/.ssh/*"), pair("/root/.ssh/", ""));
        assert_eq!(a("**/id_rsa"), pair("", "id_rsa"));
        assert_eq!(a("/home/**"), pair("/home", ""));
        assert_eq!(a("/a/**/b"), pair("/a", "b"));
        assert_eq!(a("/a/[]x]/b{c,d}"), pair("/a/", ""));
        assert_eq!(a("/x/\\*lit?"), pair("/x/*lit", ""));
        assert_eq!(a("*"), None);
        assert_eq!(a("{a,b}"), None);
    }

    #[test]
    fn default_globs_match_sensitive_paths() {
        let m = default_matcher();
        for p in [
            "/etc/shadow",
            "/etc/gshadow",
            "/proc/self/environ",
            "/proc/1234/mem",
            "/root/.ssh/authorized_keys",
            "/home/alice/.ssh/id_ed25519",
            "/opt/app/keys/id_rsa",
            "/etc/ssl/private/server.key",
        ] {
            let f = m.check(p).unwrap_or_else(|| panic!("{p} not flagged"));
            assert_eq!(f.rule_id, "sensitive_files.access");
            assert_eq!(f.detector, DetectorKind::SensitiveFiles);
            assert!(f.input.is_none());
        }
    }

    #[test]
    fn normalisation_and_relative_paths() {
        let m = default_matcher();
        for p in [
            "/var/www/../../etc/shadow",
            "//etc//shadow",
            "/etc/./shadow",
            "../../../../etc/shadow",
            "etc/shadow",
            "./.ssh/id_rsa",
            "/proc/self/root/etc/shadow",
            "/proc/77/root/etc/shadow",
            "/proc/self/root/proc/1/root/etc/shadow",
        ] {
            assert!(m.check(p).is_some(), "{p} not flagged");
        }
        let f = m.check("/srv/../etc/shadow").expect("hit");
        assert!(f.reason.contains("as `/etc/shadow`"), "{}", f.reason);
    }

    #[test]
    fn ordinary_paths_pass() {
        let m = default_matcher();
        for p in [
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            "/etc/passwd",
            "/etc/shadow.d/readme",
            "/proc/self/maps",
            "/proc/1/task/2/mem",
            "/sys/fs/cgroup/memory.max",
            "/home/alice/.ssh/known_hosts",
            "/var/www/docs/id_rsa.txt",
            "shadow",
            "/proc/selfish/root/etc/shadow",
            "",
        ] {
            assert!(m.check(p).is_none(), "{p} flagged");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_prefilter_agrees_with_globset(path in "[/a-z.]{0,30}") {
            let m = default_matcher();
            let plain = SensitiveMatcher { prefilter: Prefilter::Always, ..m.clone() };
            proptest::prop_assert_eq!(m.check(&path), plain.check(&path));
        }
    }

    #[test]
    fn invalid_globs_are_skipped_and_wildcards_disable_the_prefilter() {
        let m = SensitiveMatcher::new(&["[".to_owned(), "/data/*.key".to_owned()]);
        assert!(m.check("/data/a.key").is_some());
        assert!(m.check("/data/a.txt").is_none());
        let all = SensitiveMatcher::new(&["{/x,/y}".to_owned()]);
        assert!(matches!(all.prefilter, Prefilter::Always));
        assert!(all.check("/x").is_some());
        let none = SensitiveMatcher::new(&[]);
        assert!(none.check("/etc/shadow").is_none());
    }
}
