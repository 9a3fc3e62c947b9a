//! Commands that run another command: `env`, `sudo`, `nice`, `timeout 5`, `busybox`…
//!
//! Both the shell lexer (to label the command word after `time`/`env`/`nice`…) and the argv
//! detector (to find `sh -c` behind `env sh -c`, `busybox sh -c`) need to skip a wrapper's own
//! options and operands. One table and one streaming state machine serve both, so the two
//! detectors always agree on which word is the program.
//!
//! The table is deliberately small and conservative: an option listed in `arg_options` consumes
//! the next word; any other word starting with `-` is a flag; `positionals` operands (the
//! duration of `timeout`, the root of `chroot`) precede the wrapped program.

/// A command that runs the command given in its arguments.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Wrapper {
    /// Program name (basename).
    name: &'static str,
    /// Options whose value is the next word when not attached (`-n 5`, `-u www`).
    arg_options: &'static [&'static str],
    /// Operands before the wrapped program (`timeout DURATION cmd`).
    positionals: u8,
    /// Whether `NAME=value` words are accepted before the program (`env`, `sudo`).
    assignments: bool,
}

const WRAPPERS: &[Wrapper] = &[
    Wrapper {
        name: "time",
        arg_options: &["-f", "-o", "--format", "--output"],
        positionals: 0,
        assignments: false,
    },
    Wrapper {
        name: "nice",
        arg_options: &["-n", "--adjustment"],
        positionals: 0,
        assignments: false,
    },
    Wrapper {
        name: "nohup",
        arg_options: &[],
        positionals: 0,
        assignments: false,
    },
    Wrapper {
        name: "env",
        arg_options: &["-u", "--unset", "-C", "--chdir", "-S", "--split-string"],
        positionals: 0,
        assignments: true,
    },
    Wrapper {
        name: "exec",
        arg_options: &["-a"],
        positionals: 0,
        assignments: false,
    },
    Wrapper {
        name: "command",
        arg_options: &[],
        positionals: 0,
        assignments: false,
    },
    Wrapper {
        name: "builtin",
        arg_options: &[],
        positionals: 0,
        assignments: false,
    },
    Wrapper {
        name: "sudo",
        arg_options: &[
            "-u",
            "-g",
            "-C",
            "-D",
            "-h",
            "-p",
            "-r",
            "-t",
            "-U",
            "-T",
            "--user",
            "--group",
            "--chdir",
            "--host",
            "--prompt",
            "--role",
            "--type",
            "--other-user",
        ],
        positionals: 0,
        assignments: true,
    },
    Wrapper {
        name: "doas",
        arg_options: &["-u", "-C"],
        positionals: 0,
        assignments: false,
    },
    Wrapper {
        name: "timeout",
        arg_options: &["-s", "-k", "--signal", "--kill-after"],
        positionals: 1,
        assignments: false,
    },
    Wrapper {
        name: "stdbuf",
        arg_options: &["-i", "-o", "-e", "--input", "--output", "--error"],
        positionals: 0,
        assignments: false,
    },
    Wrapper {
        name: "ionice",
        arg_options: &["-c", "-n", "--class", "--classdata"],
        positionals: 0,
        assignments: false,
    },
    Wrapper {
        name: "setsid",
        arg_options: &[],
        positionals: 0,
        assignments: false,
    },
    Wrapper {
        name: "chroot",
        arg_options: &["--userspec", "--groups"],
        positionals: 1,
        assignments: false,
    },
    Wrapper {
        name: "taskset",
        arg_options: &[],
        positionals: 1,
        assignments: false,
    },
    Wrapper {
        name: "busybox",
        arg_options: &[],
        positionals: 0,
        assignments: false,
    },
];

/// The wrapper named `name` (a basename), if it is one.
pub(crate) fn lookup(name: &str) -> Option<&'static Wrapper> {
    WRAPPERS.iter().find(|w| w.name == name)
}

/// The last path component of a program word; a login shell's leading `-` is dropped.
pub(crate) fn basename(word: &str) -> &str {
    let base = word.rsplit('/').next().unwrap_or(word);
    base.strip_prefix('-')
        .filter(|b| !b.is_empty())
        .unwrap_or(base)
}

/// True for `NAME=value` (or `NAME+=value`): returns the byte offset of the `=`.
pub(crate) fn assignment_eq(word: &str) -> Option<usize> {
    let bytes = word.as_bytes();
    let first = *bytes.first()?;
    if !(first == b'_' || first.is_ascii_alphabetic()) {
        return None;
    }
    let name_len = bytes
        .iter()
        .position(|b| !(*b == b'_' || b.is_ascii_alphanumeric()))?;
    match bytes.get(name_len..name_len + 2) {
        Some([b'=', ..]) => Some(name_len),
        Some([b'+', b'=']) => Some(name_len + 1),
        _ => None,
    }
}

/// What one word after a wrapper is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// An option or option value of the wrapper itself.
    Option,
    /// A `NAME=value` environment assignment.
    Assignment,
    /// A positional operand of the wrapper (a duration, a directory).
    Operand,
    /// The wrapped program.
    Program,
}

/// Streaming classifier of the words that follow a wrapper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WrapperArgs {
    spec: &'static Wrapper,
    need_arg: bool,
    options_done: bool,
    positionals: u8,
}

impl WrapperArgs {
    /// Starts classifying the arguments of `spec`.
    pub(crate) fn new(spec: &'static Wrapper) -> Self {
        Self {
            spec,
            need_arg: false,
            options_done: false,
            positionals: spec.positionals,
        }
    }

    /// Classifies the next word, given as its literal (quote-removed) text.
    pub(crate) fn feed(&mut self, literal: &str) -> Step {
        if self.need_arg {
            self.need_arg = false;
            return Step::Option;
        }
        if !self.options_done && literal.len() > 1 && literal.starts_with('-') {
            if literal == "--" {
                self.options_done = true;
            } else {
                self.need_arg = self.spec.arg_options.contains(&literal);
            }
            return Step::Option;
        }
        if self.spec.assignments && assignment_eq(literal).is_some() {
            return Step::Assignment;
        }
        if self.positionals > 0 {
            self.positionals -= 1;
            return Step::Operand;
        }
        Step::Program
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program_index(words: &[&str]) -> Option<usize> {
        let (first, rest) = words.split_first()?;
        let mut args = WrapperArgs::new(lookup(first)?);
        rest.iter()
            .position(|w| args.feed(w) == Step::Program)
            .map(|i| i + 1)
    }

    #[test]
    fn skips_wrapper_options_and_operands() {
        assert_eq!(program_index(&["env", "-i", "A=1", "id"]), Some(3));
        assert_eq!(program_index(&["nice", "-n", "5", "id"]), Some(3));
        assert_eq!(
            program_index(&["timeout", "-s", "KILL", "5", "id"]),
            Some(4)
        );
        assert_eq!(program_index(&["sudo", "-u", "www", "--", "id"]), Some(4));
        assert_eq!(program_index(&["busybox", "sh"]), Some(1));
        assert_eq!(program_index(&["env", "A=1"]), None);
    }

    #[test]
    fn assignments_and_basenames() {
        assert_eq!(assignment_eq("PATH=/x"), Some(4));
        assert_eq!(assignment_eq("A+=x"), Some(2));
        assert_eq!(assignment_eq("1A=x"), None);
        assert_eq!(assignment_eq("--a=b"), None);
        assert_eq!(assignment_eq("NAME"), None);
        assert_eq!(basename("/usr/bin/env"), "env");
        assert_eq!(basename("-bash"), "bash");
        assert_eq!(basename("-"), "-");
    }
}
