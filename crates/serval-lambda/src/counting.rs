//! The counting service: admits an invocation only when the account's and
//! the function's concurrency allow it, and frees the slot when it ends.

use crate::error::LambdaError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Concurrency that always stays unreserved, as AWS.
pub const MIN_UNRESERVED: u32 = 100;

#[derive(Default)]
struct Account {
    /// In-flight invocations of functions without reserved concurrency.
    unreserved_in_flight: u32,
    /// Reserved concurrency by function name.
    reserved: HashMap<String, u32>,
    /// In-flight invocations by function name.
    in_flight: HashMap<String, u32>,
}

impl Account {
    fn reserved_total(&self) -> u64 {
        self.reserved.values().map(|r| u64::from(*r)).sum()
    }
}

/// Concurrency accounting for every account and region.
pub struct Counting {
    limit: u32,
    accounts: Mutex<HashMap<(String, String), Account>>,
}

/// A held concurrency slot; dropping it frees the slot.
pub struct Slot {
    counting: Arc<Counting>,
    scope: (String, String),
    function: String,
    reserved: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut accounts = match self.counting.accounts.lock() {
            Ok(a) => a,
            Err(p) => p.into_inner(),
        };
        if let Some(acct) = accounts.get_mut(&self.scope) {
            if let Some(n) = acct.in_flight.get_mut(&self.function) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    acct.in_flight.remove(&self.function);
                }
            }
            if !self.reserved {
                acct.unreserved_in_flight = acct.unreserved_in_flight.saturating_sub(1);
            }
        }
    }
}

fn throttle(reason: &'static str) -> LambdaError {
    LambdaError::TooManyRequests {
        message: "Rate Exceeded.".into(),
        reason,
    }
}

impl Counting {
    /// Accounting with the given account-wide limit (AWS default 1000).
    pub fn new(limit: u32) -> Arc<Self> {
        Arc::new(Self {
            limit,
            accounts: Mutex::new(HashMap::new()),
        })
    }

    /// The account-wide concurrency limit.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Reserves a slot for one invocation of `function`.
    pub fn acquire(
        self: &Arc<Self>,
        account: &str,
        region: &str,
        function: &str,
    ) -> Result<Slot, LambdaError> {
        let scope = (account.to_string(), region.to_string());
        let mut accounts = match self.accounts.lock() {
            Ok(a) => a,
            Err(p) => p.into_inner(),
        };
        let acct = accounts.entry(scope.clone()).or_default();
        let in_flight = acct.in_flight.get(function).copied().unwrap_or(0);
        let reserved = match acct.reserved.get(function).copied() {
            Some(r) => {
                if in_flight >= r {
                    return Err(throttle(
                        "ReservedFunctionConcurrentInvocationLimitExceeded",
                    ));
                }
                true
            }
            None => {
                let pool = u64::from(self.limit).saturating_sub(acct.reserved_total());
                let pool = u32::try_from(pool).unwrap_or(u32::MAX);
                if acct.unreserved_in_flight >= pool {
                    return Err(throttle("ConcurrentInvocationLimitExceeded"));
                }
                acct.unreserved_in_flight += 1;
                false
            }
        };
        *acct.in_flight.entry(function.to_string()).or_default() += 1;
        Ok(Slot {
            counting: self.clone(),
            scope,
            function: function.to_string(),
            reserved,
        })
    }

    /// Sets or clears a function's reserved concurrency. Fails when it would
    /// leave less than [`MIN_UNRESERVED`] for the rest of the account.
    pub fn set_reserved(
        &self,
        account: &str,
        region: &str,
        function: &str,
        reserved: Option<u32>,
    ) -> Result<(), LambdaError> {
        self.set_reserved_beside(account, region, function, reserved, 0)
    }

    /// Like [`Counting::set_reserved`], with `committed` more of the
    /// unreserved pool already promised elsewhere (provisioned concurrency of
    /// functions without reserved concurrency).
    pub fn set_reserved_beside(
        &self,
        account: &str,
        region: &str,
        function: &str,
        reserved: Option<u32>,
        committed: u64,
    ) -> Result<(), LambdaError> {
        let mut accounts = match self.accounts.lock() {
            Ok(a) => a,
            Err(p) => p.into_inner(),
        };
        let acct = accounts
            .entry((account.to_string(), region.to_string()))
            .or_default();
        match reserved {
            Some(r) => {
                let others = acct.reserved_total()
                    - u64::from(acct.reserved.get(function).copied().unwrap_or(0));
                if others + u64::from(r) + committed
                    > u64::from(self.limit.saturating_sub(MIN_UNRESERVED))
                {
                    return Err(LambdaError::InvalidParameter(format!(
                        "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}]."
                    )));
                }
                acct.reserved.insert(function.to_string(), r);
            }
            None => {
                acct.reserved.remove(function);
            }
        }
        Ok(())
    }

    /// Concurrency not reserved by any function of the account.
    pub fn unreserved(&self, account: &str, region: &str) -> u32 {
        let accounts = match self.accounts.lock() {
            Ok(a) => a,
            Err(p) => p.into_inner(),
        };
        let reserved = accounts
            .get(&(account.to_string(), region.to_string()))
            .map(Account::reserved_total)
            .unwrap_or(0);
        u32::try_from(u64::from(self.limit).saturating_sub(reserved)).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_zero_throttles_and_slots_free() {
        let c = Counting::new(1000);
        assert!(c.set_reserved("a", "r", "f", Some(0)).is_ok());
        assert!(matches!(
            c.acquire("a", "r", "f"),
            Err(LambdaError::TooManyRequests {
                reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
                ..
            })
        ));
        assert!(c.set_reserved("a", "r", "f", Some(1)).is_ok());
        let slot = c.acquire("a", "r", "f");
        assert!(slot.is_ok());
        assert!(c.acquire("a", "r", "f").is_err());
        drop(slot);
        assert!(c.acquire("a", "r", "f").is_ok());
    }

    #[test]
    fn account_limit_and_minimum_unreserved() {
        let c = Counting::new(102);
        assert!(c.set_reserved("a", "r", "big", Some(3)).is_err());
        assert!(c.set_reserved("a", "r", "huge", Some(u32::MAX)).is_err());
        assert!(c.set_reserved("a", "r", "big", Some(2)).is_ok());
        assert_eq!(c.unreserved("a", "r"), 100);
        let slots: Vec<_> = (0..100)
            .filter_map(|_| c.acquire("a", "r", "g").ok())
            .collect();
        assert_eq!(slots.len(), 100);
        assert!(matches!(
            c.acquire("a", "r", "h"),
            Err(LambdaError::TooManyRequests {
                reason: "ConcurrentInvocationLimitExceeded",
                ..
            })
        ));
        // Another region is another pool.
        assert!(c.acquire("a", "other", "h").is_ok());
    }
}
