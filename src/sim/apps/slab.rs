//! The requests in flight: a slab of reusable slots, with a generation per slot so that an event
//! naming a finished request (a timeout, a server token) is recognised as stale.

use crate::engine::SimTime;
pub use crate::sim::events::RequestRef;

#[derive(Clone, Debug)]
pub struct Request {
    pub client: u32,
    pub app: u16,
    /// Index of the tier the request is in (or goes to next).
    pub tier: u16,
    pub issued: SimTime,
    /// When it reached the tier it is in.
    pub at_tier: SimTime,
    /// The client gave up on it (timeout): it still occupies servers, but nobody waits for it.
    pub orphan: bool,
}

/// Slots of requests; `demands` holds `stride` per-tier demands (seconds) per slot.
pub struct RequestSlab {
    slots: Vec<Option<Request>>,
    gens: Vec<u32>,
    free: Vec<u32>,
    demands: Vec<f64>,
    stride: usize,
    live: usize,
}

impl RequestSlab {
    pub fn new(stride: usize) -> Self {
        RequestSlab {
            slots: Vec::new(),
            gens: Vec::new(),
            free: Vec::new(),
            demands: Vec::new(),
            stride: stride.max(1),
            live: 0,
        }
    }

    /// A fresh slot for `req`; its demands are to be filled through `demands_mut`.
    pub fn insert(&mut self, req: Request) -> RequestRef {
        self.live += 1;
        if let Some(slot) = self.free.pop() {
            self.slots[slot as usize] = Some(req);
            RequestRef {
                slot,
                gen: self.gens[slot as usize],
            }
        } else {
            let slot = self.slots.len() as u32;
            self.slots.push(Some(req));
            self.gens.push(0);
            self.demands.resize(self.demands.len() + self.stride, 0.0);
            RequestRef { slot, gen: 0 }
        }
    }

    /// The request, if `r` still designates it.
    #[inline]
    pub fn get(&self, r: RequestRef) -> Option<&Request> {
        if self.gens.get(r.slot as usize) == Some(&r.gen) {
            self.slots[r.slot as usize].as_ref()
        } else {
            None
        }
    }

    #[inline]
    pub fn get_mut(&mut self, r: RequestRef) -> Option<&mut Request> {
        if self.gens.get(r.slot as usize) == Some(&r.gen) {
            self.slots[r.slot as usize].as_mut()
        } else {
            None
        }
    }

    #[inline]
    pub fn demands(&self, r: RequestRef) -> &[f64] {
        let s = r.slot as usize * self.stride;
        &self.demands[s..s + self.stride]
    }

    #[inline]
    pub fn demands_mut(&mut self, r: RequestRef) -> &mut [f64] {
        let s = r.slot as usize * self.stride;
        &mut self.demands[s..s + self.stride]
    }

    /// Frees the slot; every outstanding reference to it becomes stale.
    pub fn remove(&mut self, r: RequestRef) -> Option<Request> {
        let req = self.get(r)?;
        let _ = req;
        let taken = self.slots[r.slot as usize].take();
        self.gens[r.slot as usize] = self.gens[r.slot as usize].wrapping_add(1);
        self.free.push(r.slot);
        self.live -= 1;
        taken
    }

    /// Requests in the slab (orphans included).
    #[cfg(test)]
    pub fn live(&self) -> usize {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> Request {
        Request {
            client: 0,
            app: 0,
            tier: 0,
            issued: SimTime::ZERO,
            at_tier: SimTime::ZERO,
            orphan: false,
        }
    }

    #[test]
    fn stale_references_are_recognised_after_reuse() {
        let mut slab = RequestSlab::new(3);
        let a = slab.insert(req());
        slab.demands_mut(a)[2] = 0.5;
        assert_eq!(slab.demands(a), &[0.0, 0.0, 0.5]);
        assert!(slab.remove(a).is_some());
        let b = slab.insert(req());
        assert_eq!(a.slot, b.slot);
        assert!(slab.get(a).is_none());
        assert!(slab.remove(a).is_none());
        assert!(slab.get(b).is_some());
        assert_eq!(RequestRef::from_token(b.token()), b);
        assert_eq!(slab.live(), 1);
    }
}
