//! A server whose VM resumed on its checkpoint backup after its node crashed: the VM's memory
//! is as it was at the checkpoint, so the requests that reached the server after it are not in
//! it. Their clients' connections survive (the VM keeps its address and its TCP state as of
//! the checkpoint), so they are sent again and served from the start: their work on the server
//! is lost, not the requests. Requests the server held at the checkpoint keep the progress they
//! made since (reconf does not roll a request back by less than its whole visit: at most one
//! epoch and a half of service, tens of ms, against a failover of about a second), and its
//! sessions are kept.

use super::slab::RequestRef;
use super::{Apps, Env};
use crate::engine::SimTime;
use crate::sim::events::Event;

impl Apps {
    /// Server `s`'s VM resumed from its state at `checkpoint`: the requests that reached it
    /// after that start their visit again now. Returns how many did.
    pub fn rewind_server(
        &mut self,
        now: SimTime,
        s: u32,
        checkpoint: SimTime,
        env: &mut Env<'_>,
    ) -> u64 {
        let mut tokens: Vec<u64> = self.servers[s as usize].ps.tokens().collect();
        tokens.sort_unstable(); // deterministic order whatever the heap's layout
        let mut again = 0;
        for token in tokens {
            let r = RequestRef::from_token(token);
            let Some(req) = self.requests.get(r) else {
                continue;
            };
            if req.at_tier <= checkpoint {
                continue;
            }
            let demand = self.requests.demands(r)[req.tier as usize];
            let ps = &mut self.servers[s as usize].ps;
            let (_, w1) = ps.remove(now, token);
            let w2 = ps.arrive(now, demand, token);
            for w in [w1, w2].into_iter().flatten() {
                env.q.schedule(
                    w.at,
                    Event::Departure {
                        server: s,
                        gen: w.gen,
                    },
                );
            }
            let req = self.requests.get_mut(r).expect("exists");
            req.at_tier = now;
            again += 1;
        }
        again
    }
}
