//! `static`: never reconfigures. The static-peak and static-minimal baselines are two
//! scenarios of it (sized for the peak, or for the minimum).

use crate::api::{Action, Params, Policy, PolicyContext, View};
use crate::PolicyInfo;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "static",
    about: "Never reconfigures: the baseline.",
    params: &[],
    build,
};

fn build(_: &Params, _: &PolicyContext) -> Box<dyn Policy> {
    Box::new(Static)
}

pub struct Static;

impl Policy for Static {
    fn name(&self) -> &str {
        INFO.name
    }

    fn decide(&mut self, _: &View) -> Vec<Action> {
        Vec::new()
    }
}
