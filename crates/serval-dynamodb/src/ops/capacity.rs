//! Consumed capacity as DynamoDB computes it: reads in 4 KB units (halved
//! when eventually consistent), writes in 1 KB units, transactions doubled,
//! and secondary index writes counted per index.

use serde_json::{json, Map, Value as Json};

/// Capacity one request consumed.
#[derive(Debug, Clone, Default)]
pub struct Consumed {
    /// Table name.
    pub table: String,
    /// Units on the table.
    pub table_units: f64,
    /// Units per index: (name, global, units).
    pub indexes: Vec<(String, bool, f64)>,
    /// Read (true) or write capacity.
    pub read: bool,
}

/// Read units for `bytes` read in one request.
pub fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.div_ceil(4096).max(1) as f64;
    if consistent {
        units
    } else {
        units / 2.0
    }
}

/// Write units for an item of `bytes`.
pub fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

impl Consumed {
    /// A read of the table.
    pub fn read(table: &str, units: f64) -> Self {
        Consumed {
            table: table.to_string(),
            table_units: units,
            indexes: Vec::new(),
            read: true,
        }
    }

    /// A write of the table.
    pub fn write(table: &str, units: f64) -> Self {
        Consumed {
            table: table.to_string(),
            table_units: units,
            indexes: Vec::new(),
            read: false,
        }
    }

    /// Adds units on an index.
    pub fn add_index(&mut self, name: &str, global: bool, units: f64) {
        match self.indexes.iter_mut().find(|(n, _, _)| n == name) {
            Some(slot) => slot.2 += units,
            None => self.indexes.push((name.to_string(), global, units)),
        }
    }

    /// Folds another request's capacity on the same table into this one.
    pub fn merge(&mut self, other: &Consumed) {
        self.table_units += other.table_units;
        for (n, g, u) in &other.indexes {
            self.add_index(n, *g, *u);
        }
    }

    /// Multiplies every figure (transactions cost double).
    pub fn scale(&mut self, by: f64) {
        self.table_units *= by;
        for ix in &mut self.indexes {
            ix.2 *= by;
        }
    }

    fn units(&self, units: f64) -> Json {
        let mut m = Map::new();
        m.insert(
            if self.read {
                "ReadCapacityUnits"
            } else {
                "WriteCapacityUnits"
            }
            .into(),
            json!(units),
        );
        m.insert("CapacityUnits".into(), json!(units));
        Json::Object(m)
    }

    /// The `ConsumedCapacity` object for `ReturnConsumedCapacity`, if asked.
    pub fn render(&self, mode: Option<&str>) -> Option<Json> {
        let mode = mode.filter(|m| *m == "TOTAL" || *m == "INDEXES")?;
        let total = self.table_units + self.indexes.iter().map(|i| i.2).sum::<f64>();
        let mut out = match self.units(total) {
            Json::Object(m) => m,
            _ => Map::new(),
        };
        out.insert("TableName".into(), json!(self.table));
        if mode == "INDEXES" {
            out.insert("Table".into(), self.units(self.table_units));
            for (field, global) in [
                ("GlobalSecondaryIndexes", true),
                ("LocalSecondaryIndexes", false),
            ] {
                let m: Map<String, Json> = self
                    .indexes
                    .iter()
                    .filter(|i| i.1 == global)
                    .map(|(n, _, u)| (n.clone(), self.units(*u)))
                    .collect();
                if !m.is_empty() {
                    out.insert(field.into(), Json::Object(m));
                }
            }
        }
        Some(Json::Object(out))
    }
}
