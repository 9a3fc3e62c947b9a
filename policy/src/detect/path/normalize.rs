//! Lexical normalisation of Linux paths: the grammar both path rules tokenize with.
//!
//! A path is split on `/` only — Linux has no other separator, so `..\` is an ordinary name
//! and `..hidden` or `...` are ordinary names too; only a segment that is exactly `..` climbs.
//! Empty segments (`//`) and `.` are dropped. A `..` pops the last name; at the root of an
//! absolute path it is dropped (the kernel clamps `/..` to `/`), and in a relative path with
//! nothing left to pop it is kept, because it climbs above the (unknown) working directory.
//!
//! Invariant: the walk never touches the file system, so symlinks are not resolved; callers
//! treat the result as "where the text says the path goes", which is what an input can change.

use std::fmt;

/// A path being walked segment by segment.
///
/// `stack` holds the names reached so far; for a relative path it may start with `..`
/// entries (climbs above the working directory), never followed by another `..`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk<'a> {
    absolute: bool,
    stack: Vec<&'a str>,
}

/// What one [`Walk::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// An empty or `.` segment: nothing changed.
    Stay,
    /// A name was entered.
    Descend,
    /// A `..` removed the last name.
    Pop,
    /// A `..` at the root of an absolute path, dropped by the kernel but an attempt to climb.
    ClampedAtRoot,
    /// A `..` above the working directory of a relative path.
    AboveStart,
}

impl<'a> Walk<'a> {
    /// An empty walk at the root (`absolute`) or at the working directory.
    pub fn new(absolute: bool) -> Self {
        Self {
            absolute,
            stack: Vec::new(),
        }
    }

    /// Applies one segment.
    pub fn step(&mut self, segment: &'a str) -> Step {
        match segment {
            "" | "." => Step::Stay,
            ".." => match self.stack.last() {
                Some(&last) if last != ".." => {
                    self.stack.pop();
                    Step::Pop
                }
                _ if self.absolute => Step::ClampedAtRoot,
                _ => {
                    self.stack.push("..");
                    Step::AboveStart
                }
            },
            name => {
                self.stack.push(name);
                Step::Descend
            }
        }
    }

    /// Signed depth below the start: names minus leading `..` entries.
    pub fn depth(&self) -> isize {
        self.stack
            .iter()
            .map(|s| if *s == ".." { -1 } else { 1 })
            .sum()
    }

    /// True when this walk is at `dir` or below it (segment-wise, not by string prefix, so
    /// `/var/www2` is not inside `/var/www`; `../x` is not inside the working directory).
    pub fn is_within(&self, dir: &Walk<'_>) -> bool {
        self.absolute == dir.absolute
            && self.stack.starts_with(&dir.stack)
            && !self
                .stack
                .get(dir.stack.len()..)
                .is_some_and(|rest| rest.contains(&".."))
    }

    /// Whether the walk started at the root.
    pub fn is_absolute(&self) -> bool {
        self.absolute
    }

    /// The names reached, leading `..` entries included for relative paths.
    pub fn segments(&self) -> &[&'a str] {
        &self.stack
    }
}

impl fmt::Display for Walk<'_> {
    /// `/a/b`, `/`, `a/b`, `../x`, or `.` for an empty relative walk.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.stack.is_empty() {
            return f.write_str(if self.absolute { "/" } else { "." });
        }
        for (i, seg) in self.stack.iter().enumerate() {
            if i > 0 || self.absolute {
                f.write_str("/")?;
            }
            f.write_str(seg)?;
        }
        Ok(())
    }
}

/// Splits `path` on `/`, yielding each segment (empty ones included) with its byte offset.
pub fn segments(path: &str) -> impl Iterator<Item = (usize, &str)> {
    path.split('/').scan(0usize, |offset, seg| {
        let at = *offset;
        *offset = at + seg.len() + 1;
        Some((at, seg))
    })
}

/// Normalises `path` lexically (see the module docs).
pub fn normalize(path: &str) -> Walk<'_> {
    let mut walk = Walk::new(path.starts_with('/'));
    for (_, seg) in segments(path) {
        walk.step(seg);
    }
    walk
}

/// True when [`normalize`] could change an absolute `path`: it contains `//`, `/./` or `/../`,
/// or ends in `/.` or `/..`. One `memchr` pass over the slashes; ordinary paths such as
/// `/usr/lib/x86_64-linux-gnu/libc.so.6` answer `false` without allocating.
pub fn needs_normalizing(path: &str) -> bool {
    let bytes = path.as_bytes();
    memchr::memchr_iter(b'/', bytes).any(|i| {
        matches!(
            bytes.get(i + 1..),
            Some([b'/', ..] | [b'.'] | [b'.', b'/', ..] | [b'.', b'.'] | [b'.', b'.', b'/', ..])
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(p: &str) -> String {
        normalize(p).to_string()
    }

    #[test]
    fn absolute_paths_clamp_at_root() {
        assert_eq!(norm("/var/www/../../../../etc/passwd"), "/etc/passwd");
        assert_eq!(norm("/a/./b//c/"), "/a/b/c");
        assert_eq!(norm("/.."), "/");
        assert_eq!(norm("//"), "/");
    }

    #[test]
    fn relative_paths_keep_leading_climbs() {
        assert_eq!(norm("../../etc/passwd"), "../../etc/passwd");
        assert_eq!(norm("a/../../b"), "../b");
        assert_eq!(norm("./x"), "x");
        assert_eq!(norm("a/.."), ".");
        assert_eq!(normalize("../../x").depth(), -1);
    }

    #[test]
    fn only_exact_dotdot_segments_climb() {
        assert_eq!(norm("/a/..hidden/b"), "/a/..hidden/b");
        assert_eq!(norm("/a/.../b"), "/a/.../b");
        assert_eq!(norm("/a/..\\..\\b"), "/a/..\\..\\b");
        assert_eq!(norm("/a/b../c"), "/a/b../c");
    }

    #[test]
    fn within_is_segment_wise() {
        let base = normalize("/var/www");
        assert!(normalize("/var/www/x").is_within(&base));
        assert!(normalize("/var/www").is_within(&base));
        assert!(!normalize("/var/www2/x").is_within(&base));
        assert!(!normalize("var/www/x").is_within(&base));
        let cwd = normalize("");
        assert!(normalize("a/b").is_within(&cwd));
        assert!(!normalize("../a").is_within(&cwd));
        assert!(normalize("../shared/x").is_within(&normalize("../shared")));
    }

    #[test]
    fn segments_carry_offsets() {
        let segs: Vec<_> = segments("/ab//c").collect();
        assert_eq!(segs, vec![(0, ""), (1, "ab"), (4, ""), (5, "c")]);
    }

    #[test]
    fn detects_paths_that_need_normalizing() {
        for p in ["/a//b", "/a/./b", "/a/../b", "/a/.", "/a/..", "//etc"] {
            assert!(needs_normalizing(p), "{p}");
        }
        for p in [
            "/usr/lib/libc.so.6",
            "/a/.hidden",
            "/a/..b",
            "/a/b.",
            "/",
            "/a/b/",
        ] {
            assert!(!needs_normalizing(p), "{p}");
        }
    }
}
