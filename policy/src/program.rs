//! `[program."<glob>"]` sections: one policy file for every service on a host.
//!
//! A section holds any top-level key except `program` itself (`mode`, `[telemetry]`,
//! `[capture]`, `[extraction]`, `[detectors.*]`, `[[allow]]`, `[[rule]]`), written exactly as
//! at the top level:
//!
//! ```toml
//! [program."/usr/sbin/nginx"]
//! mode = "block"
//! [program."/usr/sbin/nginx".detectors.sqli]
//! action = "alert"
//! [[program."/usr/sbin/nginx".rule]]
//! id = "nginx-no-shell"
//! deny_exec = ["sh", "bash"]
//! ```
//!
//! The key is a [`PathPattern`] matched against the protected
//! process's executable (`/proc/self/exe`): with a `/` it matches the whole path, without one
//! the file name (`[program."php-fpm*"]`).
//!
//! Merge ([`Policy::for_program`]): start from the top-level policy, then apply every matching
//! section, least specific first (fewer literal characters in the key; ties in key order), so
//! `[program."/usr/sbin/nginx"]` wins over `[program."*"]`. Applying a section overrides
//! exactly the keys it writes, at any depth: `detectors.sqli.action` replaces that one value
//! and leaves `detectors.sqli.min_input_len` as the top level set it. Lists are values and are
//! replaced whole (`sensitive_files.paths`), except the `[[allow]]` and `[[rule]]` arrays, which
//! are appended: a section adds exemptions and rules to the global ones. To exempt one program
//! from a global rule, give that program an allow entry naming the rule (`rule = "<id>"`).
//!
//! Invariant: every section has been parsed with the same types and unknown-key checks as the
//! top level, so merging cannot produce an invalid policy; should deserialising the merged
//! table fail anyway, the top-level policy is used unchanged (never an empty one).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use toml::{Table, Value};

use crate::allow::AllowEntry;
use crate::config::{
    CaptureSettings, Detectors, ExtractionSettings, Mode, Policy, TelemetrySettings,
};
use crate::pattern::PathPattern;
use crate::rules::RuleEntry;

/// One `[program."<glob>"]` section: the keys it writes, kept as written.
///
/// Built by [`Policy::from_toml`]; a section deserialised on its own validates its keys but
/// carries no overlay, so it changes nothing when merged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProgramSection {
    allow: Vec<AllowEntry>,
    rule: Vec<RuleEntry>,
    overlay: Table,
}

/// The typed form of a section, parsed for validation (precise line:col for every key).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Schema {
    #[serde(rename = "mode")]
    _mode: Option<Mode>,
    #[serde(rename = "telemetry")]
    _telemetry: Option<TelemetrySettings>,
    #[serde(rename = "capture")]
    _capture: Option<CaptureSettings>,
    #[serde(rename = "extraction")]
    _extraction: Option<ExtractionSettings>,
    #[serde(rename = "detectors")]
    _detectors: Option<Detectors>,
    #[serde(default)]
    allow: Vec<AllowEntry>,
    #[serde(default)]
    rule: Vec<RuleEntry>,
}

impl<'de> Deserialize<'de> for ProgramSection {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let schema = Schema::deserialize(d)?;
        Ok(Self {
            allow: schema.allow,
            rule: schema.rule,
            overlay: Table::new(),
        })
    }
}

impl Serialize for ProgramSection {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.overlay.serialize(s)
    }
}

impl ProgramSection {
    /// The section's `[[allow]]` entries.
    pub fn allow(&self) -> &[AllowEntry] {
        &self.allow
    }

    /// The section's `[[rule]]` entries.
    pub fn rules(&self) -> &[RuleEntry] {
        &self.rule
    }

    /// The keys the section writes, as TOML.
    pub fn overlay(&self) -> &Table {
        &self.overlay
    }

    pub(crate) fn set_overlay(&mut self, overlay: Table) {
        self.overlay = overlay;
    }
}

impl Policy {
    /// Keys of the `[program."…"]` sections that apply to executable `exe`, in the order they
    /// are applied (least specific first).
    pub fn program_sections_for(&self, exe: &str) -> Vec<&str> {
        let mut keys: Vec<(usize, &str)> = self
            .program
            .keys()
            .filter_map(|k| {
                let pattern = PathPattern::parse(k).ok()?;
                pattern
                    .compile()
                    .is_match(exe)
                    .then(|| (pattern.specificity(), k.as_str()))
            })
            .collect();
        keys.sort();
        keys.into_iter().map(|(_, k)| k).collect()
    }

    /// The effective policy of the process running executable `exe`: the top level with every
    /// matching `[program."…"]` section applied (see the module docs). The result has no
    /// program sections of its own.
    pub fn for_program(&self, exe: &str) -> Policy {
        let mut base = self.clone();
        base.program.clear();
        let sections = self.program_sections_for(exe);
        if sections.is_empty() {
            return base;
        }
        let Ok(Value::Table(mut table)) = Value::try_from(&base) else {
            return base;
        };
        for key in sections {
            if let Some(section) = self.program.get(key) {
                merge(&mut table, &section.overlay, true);
            }
        }
        Value::Table(table).try_into().unwrap_or(base)
    }
}

/// Applies `overlay` onto `base` (see the module docs); `top` marks the document root, where
/// `allow` and `rule` arrays are appended instead of replaced.
fn merge(base: &mut Table, overlay: &Table, top: bool) {
    for (key, value) in overlay {
        match (base.get_mut(key), value) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o, false),
            (Some(Value::Array(b)), Value::Array(o))
                if top && (key == "allow" || key == "rule") =>
            {
                b.extend(o.iter().cloned());
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}
