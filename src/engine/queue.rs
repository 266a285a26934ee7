//! The event queue: events popped in (time, insertion sequence) order, from a radix heap and an
//! in-order lane.
//!
//! Two events at the same instant are popped in the order they were scheduled, so a run never
//! depends on how ties are broken. A discrete-event simulation only ever schedules at or after
//! the current time, so times are *monotone*: a radix heap exploits this. It files each event in
//! the bucket of the highest bit in which its time differs from the last settled time; popping
//! empties the lowest non-empty bucket into lower ones. Keys are the 64-bit times alone: a bucket
//! is only ever filled by a stable split of a higher one (while every lower bucket is empty) and
//! then by appends of newer events, so each bucket stays in insertion order, and the events of
//! one instant leave in insertion order without the sequence number taking part in the buckets.
//!
//! Events that their caller schedules in non-decreasing time order (a timeout a fixed delay
//! after now) can skip the heap: [`EventQueue::schedule_in_order`] appends them to a FIFO lane,
//! and popping merges the lane with the heap by (time, sequence). Such events are typically far
//! in the future and mostly stale by the time they are due (a request timeout that almost never
//! fires): in the heap, each would be moved bucket to bucket several times before being popped.
//! The order of events is exactly the same whichever way an event was scheduled.

use super::time::SimTime;
use std::collections::VecDeque;

struct Entry<E> {
    time: u64,
    seq: u64,
    event: E,
}

/// Buckets 1..=64 by the highest bit (0..=63) in which a time differs from the settled time
/// (`EventQueue::last`); events *at* the settled time are in `ready`.
const BUCKETS: usize = 64;

/// A queue of future events of type `E`, popped in (time, insertion) order.
pub struct EventQueue<E> {
    /// Heap events at the settled time `last`, in insertion order.
    ready: VecDeque<Entry<E>>,
    /// `buckets[b]`: heap events whose time differs from `last` first at bit `b`, in insertion
    /// order.
    buckets: Vec<Vec<Entry<E>>>,
    /// Bit b is set when `buckets[b]` is non-empty: the lowest non-empty bucket is one
    /// `trailing_zeros`, not a scan of 64 vectors.
    nonempty: u64,
    /// The settled time: no pending event is earlier, and no later event will be.
    last: u64,
    /// Events scheduled with `schedule_in_order`, in time order (and insertion order).
    lane: VecDeque<Entry<E>>,
    len: usize,
    next_seq: u64,
    now: SimTime,
}

/// Where the earliest pending event is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Front {
    Heap,
    Lane,
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
        // Pending events are mostly milliseconds to minutes ahead (bits 20 to 40 of a time in
        // ns): those buckets fill most.
        for b in buckets.iter_mut().skip(16) {
            b.reserve(capacity / 16);
        }
        EventQueue {
            ready: VecDeque::new(),
            buckets,
            nonempty: 0,
            last: 0,
            lane: VecDeque::new(),
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

    /// The entry for an event at `at` (moved to now if in the past), with the next sequence
    /// number.
    #[inline(always)]
    fn entry(&mut self, at: SimTime, event: E) -> Entry<E> {
        let entry = Entry {
            time: at.max(self.now).0,
            seq: self.next_seq,
            event,
        };
        self.next_seq += 1;
        self.len += 1;
        entry
    }

    /// Files `e` in the heap.
    #[inline(always)]
    fn push_heap(&mut self, e: Entry<E>) {
        if e.time < self.last {
            self.rebase(e.time);
        }
        self.file(e);
    }

    /// Files `e` (at or after `last`) in the heap.
    #[inline(always)]
    fn file(&mut self, e: Entry<E>) {
        let diff = e.time ^ self.last;
        if diff == 0 {
            self.ready.push_back(e);
        } else {
            let b = 63 - diff.leading_zeros() as usize;
            self.buckets[b].push(e);
            self.nonempty |= 1 << b;
        }
    }

    /// Lowers the settled time to `to`, refiling every heap event around it: needed only when
    /// an event is scheduled between the clock and the settled time, which a look at the front
    /// (`peek_time`, or a `pop_before` that popped nothing) may have moved ahead of the clock.
    /// The events of one instant all come from one container, in their order, and keep it.
    #[cold]
    fn rebase(&mut self, to: u64) {
        let mut all: Vec<Entry<E>> = self.ready.drain(..).collect();
        for b in 0..BUCKETS {
            all.append(&mut self.buckets[b]);
        }
        self.nonempty = 0;
        self.last = to;
        for e in all {
            self.file(e);
        }
    }

    /// Schedules `event` at `at`. An instant in the past is moved to now: an event never goes
    /// back in time (which also keeps times monotone).
    #[inline]
    pub fn schedule(&mut self, at: SimTime, event: E) {
        let e = self.entry(at, event);
        self.push_heap(e);
    }

    /// Schedules `event` at `at`, like `schedule`, for a caller that schedules a family of
    /// events in non-decreasing time order (timeouts a fixed delay after now): such an event
    /// waits in a FIFO lane rather than the heap, at O(1) cost. An event earlier than the last
    /// one in the lane goes to the heap, so the pop order is exactly that of `schedule`
    /// whatever the caller does.
    #[inline]
    pub fn schedule_in_order(&mut self, at: SimTime, event: E) {
        let e = self.entry(at, event);
        match self.lane.back() {
            Some(tail) if tail.time > e.time => self.push_heap(e),
            _ => self.lane.push_back(e),
        }
    }

    /// Schedules `event` `delay_ns` nanoseconds from now.
    #[inline]
    pub fn schedule_in(&mut self, delay_ns: u64, event: E) {
        self.schedule(self.now.plus_ns(delay_ns), event);
    }

    /// Finds the earliest pending event, settling the heap as far as needed: on `Heap`, it is
    /// the front of `ready`; on `Lane`, the front of the lane.
    ///
    /// The settled time never passes the lane's front: popping from the lane sets the clock to
    /// that time, and every event scheduled afterwards must still be at or after `last`.
    #[inline]
    fn front(&mut self) -> Option<Front> {
        loop {
            if let Some(r) = self.ready.front() {
                return Some(match self.lane.front() {
                    Some(l) if (l.time, l.seq) < (r.time, r.seq) => Front::Lane,
                    _ => Front::Heap,
                });
            }
            if self.nonempty == 0 {
                return (!self.lane.is_empty()).then_some(Front::Lane);
            }
            let b = self.nonempty.trailing_zeros() as usize;
            // Every time in bucket b shares `last`'s bits above b and has bit b set.
            let lower_bound = ((self.last >> b) | 1) << b;
            let lane_time = self.lane.front().map(|l| l.time);
            match lane_time {
                Some(t) if t < lower_bound => return Some(Front::Lane),
                _ => self.settle(b, lane_time),
            }
        }
    }

    /// Empties bucket `b` (the lowest non-empty one, `ready` being empty) into lower buckets
    /// around the new settled time: the bucket's earliest time, or the lane's front if that is
    /// earlier (it is then at least the bucket's lower bound, so every entry still moves down).
    fn settle(&mut self, b: usize, lane_time: Option<u64>) {
        let mut bucket = std::mem::take(&mut self.buckets[b]);
        self.nonempty &= !(1 << b);
        let min = bucket
            .iter()
            .map(|e| e.time)
            .min()
            .expect("non-empty bucket");
        self.last = lane_time.map_or(min, |t| t.min(min));
        for e in bucket.drain(..) {
            debug_assert!(e.time >= self.last && (e.time ^ self.last) >> b == 0);
            self.file(e);
        }
        // Give the (now empty) allocation back to its bucket for reuse.
        self.buckets[b] = bucket;
    }

    /// Pops the earliest event and advances the clock to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let e = match self.front()? {
            Front::Heap => self.ready.pop_front(),
            Front::Lane => self.lane.pop_front(),
        }
        .expect("front is non-empty");
        self.len -= 1;
        self.now = SimTime(e.time);
        Some((self.now, e.event))
    }

    /// Pops the earliest event if it is before `until` (advancing the clock to its time), else
    /// leaves it: `peek_time` and `pop` in one search for the front.
    #[inline]
    pub fn pop_before(&mut self, until: SimTime) -> Option<(SimTime, E)> {
        let front = self.front()?;
        let queue = match front {
            Front::Heap => &mut self.ready,
            Front::Lane => &mut self.lane,
        };
        if queue.front().is_some_and(|e| e.time >= until.0) {
            return None;
        }
        let e = queue.pop_front().expect("front is non-empty");
        self.len -= 1;
        self.now = SimTime(e.time);
        Some((self.now, e.event))
    }

    /// The time of the earliest pending event.
    #[inline]
    pub fn peek_time(&mut self) -> Option<SimTime> {
        let e = match self.front()? {
            Front::Heap => self.ready.front(),
            Front::Lane => self.lane.front(),
        };
        e.map(|e| SimTime(e.time))
    }

    /// A cheap guess at the event [`EventQueue::pop`] will return next, without settling
    /// anything: the front of the settled events, else the first of the lowest non-empty
    /// bucket, else the lane's front (the lane is not compared with the heap). Usually right,
    /// as the lowest bucket holds one event or a few; for prefetching what the next event
    /// will touch while the current one runs, never for deciding anything.
    #[inline]
    pub fn peek_hint(&self) -> Option<&E> {
        if let Some(r) = self.ready.front() {
            return Some(&r.event);
        }
        if self.nonempty != 0 {
            let b = self.nonempty.trailing_zeros() as usize;
            return self.buckets[b].first().map(|e| &e.event);
        }
        self.lane.front().map(|e| &e.event)
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
    fn pop_before_stops_at_the_bound_and_leaves_the_event() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(10), 'a');
        q.schedule_in_order(SimTime(20), 'b');
        q.schedule(SimTime(30), 'c');
        assert_eq!(q.pop_before(SimTime(10)), None);
        assert_eq!(q.pop_before(SimTime(11)), Some((SimTime(10), 'a')));
        assert_eq!(q.pop_before(SimTime(20)), None);
        assert_eq!(q.now(), SimTime(10));
        assert_eq!(q.pop_before(SimTime(u64::MAX)), Some((SimTime(20), 'b')));
        assert_eq!(q.pop_before(SimTime(u64::MAX)), Some((SimTime(30), 'c')));
        assert_eq!(q.pop_before(SimTime(u64::MAX)), None);
        assert!(q.is_empty());
    }

    #[test]
    fn an_event_scheduled_after_a_look_ahead_still_pops_in_order() {
        // `peek_time` settles the heap at 1000 while the clock stays at 10; events scheduled
        // then, between the clock and 1000, come first, ties in insertion order.
        let mut q = EventQueue::new();
        q.schedule(SimTime(10), 'a');
        q.schedule(SimTime(1000), 'b');
        q.schedule(SimTime(1000), 'c');
        assert_eq!(q.pop(), Some((SimTime(10), 'a')));
        assert_eq!(q.peek_time(), Some(SimTime(1000)));
        q.schedule(SimTime(500), 'd');
        q.schedule(SimTime(1000), 'e');
        q.schedule(SimTime(20), 'f');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['f', 'd', 'b', 'c', 'e']);
    }

    #[test]
    fn the_hint_is_the_next_event_when_the_heap_front_is_settled_or_alone() {
        let mut q = EventQueue::new();
        assert_eq!(q.peek_hint(), None);
        q.schedule_in_order(SimTime(50), 'l');
        assert_eq!(q.peek_hint(), Some(&'l'));
        q.schedule(SimTime(7), 'h');
        assert_eq!(q.peek_hint(), Some(&'h'));
        assert_eq!(q.pop(), Some((SimTime(7), 'h')));
        assert_eq!(q.peek_hint(), Some(&'l'));
    }

    #[test]
    fn past_events_are_moved_to_now() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(100), 1);
        q.pop();
        q.schedule(SimTime(50), 2);
        assert_eq!(q.pop(), Some((SimTime(100), 2)));
        q.schedule_in_order(SimTime(50), 3);
        assert_eq!(q.pop(), Some((SimTime(100), 3)));
    }

    #[test]
    fn lane_and_heap_ties_pop_in_insertion_order() {
        let mut q = EventQueue::new();
        q.schedule_in_order(SimTime(7), 'a');
        q.schedule(SimTime(7), 'b');
        q.schedule_in_order(SimTime(7), 'c');
        q.schedule(SimTime(3), 'd');
        // Earlier than the lane's tail: goes to the heap, still in order.
        q.schedule_in_order(SimTime(5), 'e');
        q.schedule(SimTime(7), 'f');
        let order: Vec<(u64, char)> =
            std::iter::from_fn(|| q.pop().map(|(t, e)| (t.0, e))).collect();
        assert_eq!(
            order,
            vec![(3, 'd'), (5, 'e'), (7, 'a'), (7, 'b'), (7, 'c'), (7, 'f')]
        );
    }

    #[test]
    fn an_event_scheduled_after_a_lane_pop_below_the_heap_front_keeps_its_place() {
        // The heap's next event is far ahead; the lane's is earlier, and an event scheduled when
        // it pops falls between the two.
        let mut q = EventQueue::new();
        q.schedule(SimTime(1 << 40), 'h');
        q.schedule_in_order(SimTime(1 << 20), 'l');
        assert_eq!(q.pop(), Some((SimTime(1 << 20), 'l')));
        q.schedule(SimTime((1 << 20) + 1), 'x');
        q.schedule_in_order(SimTime(1 << 30), 'y');
        q.schedule(SimTime(1 << 21), 'z');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['x', 'z', 'y', 'h']);
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

    /// One step of the interleaved test: schedule in the heap or in the lane, `dt` after now
    /// (a lane event `dt` after the previous lane event half of the time, to keep it in order),
    /// or pop.
    #[derive(Clone, Debug)]
    enum Op {
        Schedule(u64),
        InOrder(u64),
        Pop,
        /// `pop_before` a bound this far after now.
        PopBefore(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Spans from ns to hours, so that events land in low and high buckets.
        let dt = prop_oneof![0u64..4, 0u64..1000, 0u64..(1 << 42)];
        prop_oneof![
            dt.clone().prop_map(Op::Schedule),
            dt.clone().prop_map(Op::InOrder),
            dt.prop_map(Op::PopBefore),
            Just(Op::Pop),
            Just(Op::Pop),
        ]
    }

    proptest! {
        /// Interleaved pops and pushes, in the heap and in the lane (always at or after the
        /// clock, as a simulation does), give the same order as a reference that sorts by
        /// (time, insertion).
        #[test]
        fn interleaved_operations_match_a_sorted_reference(
            ops in proptest::collection::vec(op(), 0..600)
        ) {
            let mut q = EventQueue::new();
            let mut reference: Vec<(u64, u64)> = Vec::new();
            let mut seq = 0u64;
            let mut lane_tail = 0u64;
            for o in ops {
                match o {
                    Op::Pop if !reference.is_empty() => {
                        reference.sort();
                        let expected = reference.remove(0);
                        prop_assert_eq!(q.peek_time(), Some(SimTime(expected.0)));
                        let (t, e) = q.pop().unwrap();
                        prop_assert_eq!((t.0, e), expected);
                    }
                    Op::Pop => prop_assert_eq!(q.pop(), None),
                    Op::PopBefore(dt) => {
                        reference.sort();
                        let bound = q.now().0 + dt;
                        match reference.first().copied() {
                            Some(expected) if expected.0 < bound => {
                                reference.remove(0);
                                let (t, e) = q.pop_before(SimTime(bound)).unwrap();
                                prop_assert_eq!((t.0, e), expected);
                            }
                            _ => prop_assert_eq!(q.pop_before(SimTime(bound)), None),
                        }
                    }
                    Op::Schedule(dt) => {
                        let t = q.now().0 + dt;
                        q.schedule(SimTime(t), seq);
                        reference.push((t, seq));
                        seq += 1;
                    }
                    Op::InOrder(dt) => {
                        let base = if dt % 2 == 0 { lane_tail.max(q.now().0) } else { q.now().0 };
                        let t = base + dt;
                        lane_tail = lane_tail.max(t);
                        q.schedule_in_order(SimTime(t), seq);
                        reference.push((t, seq));
                        seq += 1;
                    }
                }
                prop_assert_eq!(q.len(), reference.len());
            }
        }
    }
}
