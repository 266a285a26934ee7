//! The event queue: a radix heap keyed by (time, insertion sequence).
//!
//! Two events at the same instant are popped in the order they were scheduled, so a run never
//! depends on how ties are broken. A discrete-event simulation only ever schedules at or after
//! the current time, so keys are *monotone*: a radix heap exploits this. It files each event in
//! the bucket of the highest bit in which its key differs from the last popped key; popping
//! empties the lowest non-empty bucket into lower ones. Every operation touches contiguous
//! vectors, which makes it about 1.5× faster than a binary heap with 10^5 pending events
//! (`benches/engine.rs`; the binary heap did 8.7 M events/s on the hold model).

use super::time::SimTime;

struct Entry<E> {
    time: u64,
    seq: u64,
    event: E,
}

impl<E> Entry<E> {
    #[inline(always)]
    fn key(&self) -> u128 {
        (u128::from(self.time) << 64) | u128::from(self.seq)
    }
}

/// Buckets 1..=128 by the highest differing bit of a 128-bit key, plus bucket 0 for "equal to
/// the last popped key".
const BUCKETS: usize = 129;

/// A queue of future events of type `E`, popped in (time, insertion) order.
pub struct EventQueue<E> {
    buckets: Vec<Vec<Entry<E>>>,
    /// Bit b of word b / 64 is set when bucket b is non-empty: finding the lowest non-empty
    /// bucket is a few `trailing_zeros`, not a scan of 129 vectors.
    nonempty: [u64; 3],
    /// The key of the last popped (or about to be popped) entry: no later key is smaller.
    last: u128,
    len: usize,
    next_seq: u64,
    now: SimTime,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// `capacity` is a hint of the number of pending events (it sizes the busiest buckets).
    pub fn with_capacity(capacity: usize) -> Self {
        let mut buckets: Vec<Vec<Entry<E>>> = (0..BUCKETS).map(|_| Vec::new()).collect();
        // Keys differ first in the time bits (64 and up): those buckets fill most.
        for b in buckets.iter_mut().skip(65) {
            b.reserve(capacity / 16);
        }
        EventQueue {
            buckets,
            nonempty: [0; 3],
            last: 0,
            len: 0,
            next_seq: 0,
            now: SimTime::ZERO,
        }
    }

    /// The time of the last popped event: the simulation clock.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    #[inline(always)]
    fn bucket_of(&self, key: u128) -> usize {
        (128 - (key ^ self.last).leading_zeros()) as usize
    }

    /// Schedules `event` at `at`. An instant in the past is moved to now: an event never goes
    /// back in time (which also keeps keys monotone).
    #[inline]
    pub fn schedule(&mut self, at: SimTime, event: E) {
        let entry = Entry {
            time: at.max(self.now).0,
            seq: self.next_seq,
            event,
        };
        self.next_seq += 1;
        let b = self.bucket_of(entry.key());
        self.buckets[b].push(entry);
        self.nonempty[b >> 6] |= 1 << (b & 63);
        self.len += 1;
    }

    /// The lowest non-empty bucket, if any.
    #[inline]
    fn first_nonempty(&self) -> Option<usize> {
        self.nonempty
            .iter()
            .enumerate()
            .find(|(_, w)| **w != 0)
            .map(|(i, w)| i * 64 + w.trailing_zeros() as usize)
    }

    /// Schedules `event` `delay_ns` nanoseconds from now.
    #[inline]
    pub fn schedule_in(&mut self, delay_ns: u64, event: E) {
        self.schedule(self.now.plus_ns(delay_ns), event);
    }

    /// Makes bucket 0 hold the earliest entry (keys are unique, so exactly it).
    #[inline]
    fn settle(&mut self) {
        if !self.buckets[0].is_empty() {
            return;
        }
        let Some(i) = self.first_nonempty() else {
            return;
        };
        let mut bucket = std::mem::take(&mut self.buckets[i]);
        self.nonempty[i >> 6] &= !(1 << (i & 63));
        self.last = bucket
            .iter()
            .map(Entry::key)
            .min()
            .expect("non-empty bucket");
        for e in bucket.drain(..) {
            let b = self.bucket_of(e.key());
            debug_assert!(b < i);
            self.buckets[b].push(e);
            self.nonempty[b >> 6] |= 1 << (b & 63);
        }
        // Give the (now empty) allocation back to its bucket for reuse.
        self.buckets[i] = bucket;
    }

    /// Pops the earliest event and advances the clock to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        if self.len == 0 {
            return None;
        }
        self.settle();
        let e = self.buckets[0].pop().expect("settled");
        if self.buckets[0].is_empty() {
            self.nonempty[0] &= !1;
        }
        self.len -= 1;
        self.now = SimTime(e.time);
        Some((self.now, e.event))
    }

    /// The time of the earliest pending event.
    #[inline]
    pub fn peek_time(&mut self) -> Option<SimTime> {
        if self.len == 0 {
            return None;
        }
        self.settle();
        self.buckets[0].last().map(|e| SimTime(e.time))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ties_pop_in_insertion_order() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(10), 'a');
        q.schedule(SimTime(5), 'b');
        q.schedule(SimTime(10), 'c');
        q.schedule(SimTime(5), 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c']);
        assert_eq!(q.now(), SimTime(10));
    }

    #[test]
    fn past_events_are_moved_to_now() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(100), 1);
        q.pop();
        q.schedule(SimTime(50), 2);
        assert_eq!(q.pop(), Some((SimTime(100), 2)));
    }

    proptest! {
        #[test]
        fn pops_are_sorted_by_time_then_insertion(times in proptest::collection::vec(0u64..50, 0..200)) {
            let mut q = EventQueue::new();
            for (i, t) in times.iter().enumerate() {
                q.schedule(SimTime(*t), i);
            }
            let mut expected: Vec<(u64, usize)> = times.iter().copied().zip(0..).collect();
            expected.sort();
            let got: Vec<(u64, usize)> = std::iter::from_fn(|| q.pop().map(|(t, e)| (t.0, e))).collect();
            prop_assert_eq!(got, expected);
        }
    }

    proptest! {
        /// Interleaved pops and pushes (always at or after the clock, as a simulation does)
        /// give the same order as a reference that sorts by (time, insertion).
        #[test]
        fn interleaved_operations_match_a_sorted_reference(
            ops in proptest::collection::vec((any::<bool>(), 0u64..1000), 0..400)
        ) {
            let mut q = EventQueue::new();
            let mut reference: Vec<(u64, u64)> = Vec::new();
            let mut seq = 0u64;
            for (push, dt) in ops {
                if push || reference.is_empty() {
                    let t = q.now().0 + dt;
                    q.schedule(SimTime(t), seq);
                    reference.push((t, seq));
                    seq += 1;
                } else {
                    reference.sort();
                    let expected = reference.remove(0);
                    prop_assert_eq!(q.peek_time(), Some(SimTime(expected.0)));
                    let (t, e) = q.pop().unwrap();
                    prop_assert_eq!((t.0, e), expected);
                }
                prop_assert_eq!(q.len(), reference.len());
            }
        }
    }
}
