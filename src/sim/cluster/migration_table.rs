//! The migrations of a run by id, holding only those not over yet.
//!
//! Ids count up from 0 in start order, and events and VMs refer to a migration by its id. A
//! datacenter day starts over a million migrations (CloudSim's consolidation at 100,000 VMs),
//! each a record of some 200 bytes: kept for the whole run they took a third of its memory and
//! the page faults and copies of a vector growing to 300 MB. Here a finished migration's record
//! is dropped as soon as every older migration has finished too, so the table spans from the
//! oldest migration still under way to the newest.

use super::migration::MigrationRt;
use std::collections::VecDeque;
use std::ops::{Index, IndexMut};

/// A record that knows whether what it describes is over.
pub(crate) trait Over {
    fn over(&self) -> bool;
}

impl Over for MigrationRt {
    fn over(&self) -> bool {
        self.done
    }
}

pub(crate) struct MigrationTable<M = MigrationRt> {
    /// The id of `live[0]`.
    first: usize,
    /// Migrations `first..`, some of them over but younger than one under way.
    live: VecDeque<M>,
}

impl<M> Default for MigrationTable<M> {
    fn default() -> Self {
        MigrationTable {
            first: 0,
            live: VecDeque::new(),
        }
    }
}

impl<M: Over> MigrationTable<M> {
    /// The id the next migration will have.
    pub fn next_id(&self) -> u32 {
        (self.first + self.live.len()) as u32
    }

    /// Adds `m` under [`MigrationTable::next_id`].
    pub fn push(&mut self, m: M) {
        self.live.push_back(m);
    }

    /// Migration `id`, unless it is over and its record dropped.
    pub fn get(&self, id: usize) -> Option<&M> {
        id.checked_sub(self.first).and_then(|i| self.live.get(i))
    }

    /// Whether migration `id` is over (its record dropped, or marked over).
    pub fn is_over(&self, id: usize) -> bool {
        self.get(id).is_none_or(M::over)
    }

    /// Drops the records of the finished migrations older than every one under way: call after
    /// marking migrations over.
    pub fn retire(&mut self) {
        while self.live.front().is_some_and(M::over) {
            self.live.pop_front();
            self.first += 1;
        }
    }
}

/// A migration under way (or over but not yet dropped). Indexing a dropped one is a bug: the
/// caller held on to the id of a migration that is over without checking.
impl<M: Over> Index<usize> for MigrationTable<M> {
    type Output = M;
    fn index(&self, id: usize) -> &M {
        self.get(id)
            .unwrap_or_else(|| panic!("migration {id} is over and its record dropped"))
    }
}

impl<M: Over> IndexMut<usize> for MigrationTable<M> {
    fn index_mut(&mut self, id: usize) -> &mut M {
        let first = self.first;
        id.checked_sub(first)
            .and_then(|i| self.live.get_mut(i))
            .unwrap_or_else(|| panic!("migration {id} is over and its record dropped"))
    }
}

#[cfg(test)]
mod tests {
    use super::{MigrationTable, Over};

    /// A migration reduced to whether it is over.
    struct M(bool);
    impl Over for M {
        fn over(&self) -> bool {
            self.0
        }
    }

    #[test]
    fn records_are_dropped_once_every_older_migration_is_over() {
        let mut t = MigrationTable::default();
        for _ in 0..4 {
            let id = t.next_id() as usize;
            t.push(M(false));
            assert!(!t.is_over(id));
        }
        // 1 and 2 end before 0: kept (0 is still under way), and over.
        t[1].0 = true;
        t[2].0 = true;
        t.retire();
        assert!(t.get(0).is_some() && t.is_over(1) && t.is_over(2));
        // 0 ends: 0, 1 and 2 go; 3 stays, and ids go on from 4.
        t[0].0 = true;
        t.retire();
        assert!(t.get(0).is_none() && t.get(2).is_none() && t.is_over(0) && t.is_over(2));
        assert!(!t.is_over(3));
        assert_eq!(t.next_id(), 4);
        t.push(M(false));
        assert!(!t.is_over(4));
        t[3].0 = true;
        t[4].0 = true;
        t.retire();
        assert_eq!((t.live.len(), t.next_id()), (0, 5));
    }

    #[test]
    #[should_panic(expected = "migration 0 is over and its record dropped")]
    fn indexing_a_dropped_migration_is_a_bug_caught() {
        let mut t = MigrationTable::default();
        t.push(M(true));
        t.retire();
        let _ = &t[0];
    }
}
