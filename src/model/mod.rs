//! The model: servers and the load balancers in front of them. Nodes, VMs and live migration
//! come with the reconfiguration mechanisms; servers take their capacity from them then.

pub mod balancer;
pub mod maxmin;
pub mod power;
pub mod precopy;
pub mod ps_server;

pub use ps_server::{PsServer, Wakeup};
