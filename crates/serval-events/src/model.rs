//! Persisted records: event buses, rules (with their targets), schedule
//! groups and schedules. Each carries a schema version `v`; a shipped
//! shape is never reinterpreted (a new shape gets a new number and a
//! migration in [`crate::Events::start`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

/// Tags as `Key`/`Value` pairs, in the order they were set.
pub type Tags = Vec<(String, String)>;

/// An event bus.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bus {
    /// Schema version (1).
    pub v: u32,
    /// Owning account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Bus name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Creation time (epoch ms).
    pub created: u64,
    /// Last change (epoch ms).
    pub modified: u64,
    /// Tags.
    #[serde(default)]
    pub tags: Tags,
    /// Other settings given at creation (KmsKeyIdentifier, DeadLetterConfig, ...), echoed back.
    #[serde(default)]
    pub extra: Map<String, Json>,
}

impl Bus {
    /// `arn:aws:events:<region>:<account>:event-bus/<name>`.
    pub fn arn(&self) -> String {
        bus_arn(&self.region, &self.account, &self.name)
    }
}

/// An event bus ARN.
pub fn bus_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:events:{region}:{account}:event-bus/{name}")
}

/// A rule ARN: `rule/<name>` on the default bus, `rule/<bus>/<name>` elsewhere.
pub fn rule_arn(region: &str, account: &str, bus: &str, name: &str) -> String {
    if bus == "default" {
        format!("arn:aws:events:{region}:{account}:rule/{name}")
    } else {
        format!("arn:aws:events:{region}:{account}:rule/{bus}/{name}")
    }
}

/// A rule and its targets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rule {
    /// Schema version (1).
    pub v: u32,
    /// Owning account.
    pub account: String,
    /// Region.
    pub region: String,
    /// The bus the rule is on.
    pub bus: String,
    /// Rule name.
    pub name: String,
    /// The pattern's text, as given.
    #[serde(default)]
    pub event_pattern: Option<String>,
    /// `rate(...)` or `cron(...)`.
    #[serde(default)]
    pub schedule_expression: Option<String>,
    /// ENABLED, DISABLED or ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS.
    pub state: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Role ARN.
    #[serde(default)]
    pub role_arn: Option<String>,
    /// The service that manages the rule, if any.
    #[serde(default)]
    pub managed_by: Option<String>,
    /// Creation time (epoch ms): the anchor `rate()` counts from.
    pub created: u64,
    /// Targets, each the object given to PutTargets.
    #[serde(default)]
    pub targets: Vec<Map<String, Json>>,
    /// Tags.
    #[serde(default)]
    pub tags: Tags,
}

impl Rule {
    /// The rule's ARN.
    pub fn arn(&self) -> String {
        rule_arn(&self.region, &self.account, &self.bus, &self.name)
    }

    /// Whether the rule takes events.
    pub fn enabled(&self) -> bool {
        self.state != "DISABLED"
    }
}

/// A Scheduler schedule group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    /// Schema version (1).
    pub v: u32,
    /// Owning account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Group name.
    pub name: String,
    /// Creation time (epoch ms).
    pub created: u64,
    /// Tags.
    #[serde(default)]
    pub tags: Tags,
}

impl Group {
    /// `arn:aws:scheduler:<region>:<account>:schedule-group/<name>`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:scheduler:{}:{}:schedule-group/{}",
            self.region, self.account, self.name
        )
    }
}

/// A Scheduler schedule.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Schedule {
    /// Schema version (1).
    pub v: u32,
    /// Owning account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Group name.
    pub group: String,
    /// Schedule name.
    pub name: String,
    /// The request body that defined it (Target, FlexibleTimeWindow, ...).
    pub spec: Map<String, Json>,
    /// Creation time (epoch ms).
    pub created: u64,
    /// Last change (epoch ms).
    pub modified: u64,
    /// For one-time schedules: it has fired (it will not fire again).
    #[serde(default)]
    pub done: bool,
}

impl Schedule {
    /// `arn:aws:scheduler:<region>:<account>:schedule/<group>/<name>`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:scheduler:{}:{}:schedule/{}/{}",
            self.region, self.account, self.group, self.name
        )
    }

    /// A string member of the definition.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.spec.get(key).and_then(Json::as_str)
    }
}
