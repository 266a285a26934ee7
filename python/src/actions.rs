//! The actions a Python policy returns, one class per kind of `reconf_api::Action`, and their
//! conversions both ways. Ids are plain `int`s.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use reconf_api as api;

/// Defines an action class: a frozen value with a keyword constructor, getters, a `repr` that
/// reads as the constructor call, equality and a hash.
macro_rules! action_class {
    ($(#[$doc:meta])* $name:ident { $($field:ident : $ty:ty $(= $default:expr)?),* }) => {
        $(#[$doc])*
        #[pyclass(frozen, eq, hash, module = "reconf")]
        #[derive(PartialEq, Eq, Hash)]
        pub struct $name {
            $(#[pyo3(get)] pub $field: $ty),*
        }

        #[pymethods]
        impl $name {
            #[new]
            #[pyo3(signature = ($($field $(= $default)?),*))]
            fn new($($field: $ty),*) -> Self {
                $name { $($field),* }
            }

            fn __repr__(&self) -> String {
                let fields: Vec<String> = vec![$(format!("{}={}", stringify!($field), py_literal(&self.$field))),*];
                format!("{}({})", stringify!($name), fields.join(", "))
            }
        }
    };
}

trait PyLiteral {
    fn literal(&self) -> String;
}
impl PyLiteral for u32 {
    fn literal(&self) -> String {
        self.to_string()
    }
}
impl PyLiteral for bool {
    fn literal(&self) -> String {
        if *self { "True" } else { "False" }.to_string()
    }
}
fn py_literal(x: &impl PyLiteral) -> String {
    x.literal()
}

action_class!(
    /// Boot a node that is off.
    PowerOn { node: u32 }
);
action_class!(
    /// Shut down a node; refused while it hosts VMs or replicas.
    PowerOff { node: u32 }
);
action_class!(
    /// Deploy and start a new replica of tier `tier` of app `app` on `node` (powered on first if
    /// off); it joins the tier's load balancer when started.
    StartReplica { app: u32, tier: u32, node: u32 }
);
action_class!(
    /// Stop a replica: it leaves its load balancer at once. Without `drain` its requests in
    /// progress fail and its sessions are lost; with `drain` it first waits (bounded) for its
    /// sessions to end.
    StopReplica { replica: u32, drain: bool = false }
);
action_class!(
    /// Live-migrate a VM to node `to` (powered on first if off).
    Migrate { vm: u32, to: u32 }
);
action_class!(
    /// Start a VM that no node hosts yet on `node`.
    Place { vm: u32, node: u32 }
);

action_class!(
    /// Start a failed replica again on `node` (powered on first if off) as a fresh server; it
    /// keeps its id and name, not its sessions.
    RestartReplica { replica: u32, node: u32 }
);
action_class!(
    /// Start a VM lost in a node crash again from its disk image on `node` (powered on first if
    /// off); its memory is gone.
    RestartVm { vm: u32, node: u32 }
);

/// The Python object of an action.
pub fn action_to_py<'py>(py: Python<'py>, a: &api::Action) -> PyResult<Bound<'py, PyAny>> {
    Ok(match *a {
        api::Action::PowerOn { node } => Bound::new(py, PowerOn { node: node.0 })?.into_any(),
        api::Action::PowerOff { node } => Bound::new(py, PowerOff { node: node.0 })?.into_any(),
        api::Action::StartReplica { tier, node } => Bound::new(
            py,
            StartReplica {
                app: tier.app.0,
                tier: tier.tier,
                node: node.0,
            },
        )?
        .into_any(),
        api::Action::StopReplica { replica, drain } => Bound::new(
            py,
            StopReplica {
                replica: replica.0,
                drain,
            },
        )?
        .into_any(),
        api::Action::Migrate { vm, to } => {
            Bound::new(py, Migrate { vm: vm.0, to: to.0 })?.into_any()
        }
        api::Action::Place { vm, node } => Bound::new(
            py,
            Place {
                vm: vm.0,
                node: node.0,
            },
        )?
        .into_any(),
        api::Action::RestartReplica { replica, node } => Bound::new(
            py,
            RestartReplica {
                replica: replica.0,
                node: node.0,
            },
        )?
        .into_any(),
        api::Action::RestartVm { vm, node } => Bound::new(
            py,
            RestartVm {
                vm: vm.0,
                node: node.0,
            },
        )?
        .into_any(),
    })
}

/// The action a Python object stands for; a `TypeError` naming what it got otherwise.
pub fn action_from_py(ob: &Bound<'_, PyAny>) -> PyResult<api::Action> {
    if let Ok(a) = ob.cast::<Migrate>() {
        let a = a.get();
        return Ok(api::Action::Migrate {
            vm: api::VmId(a.vm),
            to: api::NodeId(a.to),
        });
    }
    if let Ok(a) = ob.cast::<PowerOff>() {
        return Ok(api::Action::PowerOff {
            node: api::NodeId(a.get().node),
        });
    }
    if let Ok(a) = ob.cast::<PowerOn>() {
        return Ok(api::Action::PowerOn {
            node: api::NodeId(a.get().node),
        });
    }
    if let Ok(a) = ob.cast::<StartReplica>() {
        let a = a.get();
        return Ok(api::Action::StartReplica {
            tier: api::TierRef {
                app: api::AppId(a.app),
                tier: a.tier,
            },
            node: api::NodeId(a.node),
        });
    }
    if let Ok(a) = ob.cast::<StopReplica>() {
        let a = a.get();
        return Ok(api::Action::StopReplica {
            replica: api::ReplicaId(a.replica),
            drain: a.drain,
        });
    }
    if let Ok(a) = ob.cast::<Place>() {
        let a = a.get();
        return Ok(api::Action::Place {
            vm: api::VmId(a.vm),
            node: api::NodeId(a.node),
        });
    }
    if let Ok(a) = ob.cast::<RestartReplica>() {
        let a = a.get();
        return Ok(api::Action::RestartReplica {
            replica: api::ReplicaId(a.replica),
            node: api::NodeId(a.node),
        });
    }
    if let Ok(a) = ob.cast::<RestartVm>() {
        let a = a.get();
        return Ok(api::Action::RestartVm {
            vm: api::VmId(a.vm),
            node: api::NodeId(a.node),
        });
    }
    Err(PyTypeError::new_err(format!(
        "a policy returns reconf actions (PowerOn, PowerOff, StartReplica, StopReplica, \
         Migrate, Place, RestartReplica, RestartVm), not {}",
        ob.repr()
            .map_or_else(|_| "?".to_string(), |r| r.to_string())
    )))
}

/// The actions of a Python iterable of actions.
pub fn actions_from_py(ob: &Bound<'_, PyAny>) -> PyResult<Vec<api::Action>> {
    if ob.is_none() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for a in ob.try_iter()? {
        out.push(action_from_py(&a?)?);
    }
    Ok(out)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PowerOn>()?;
    m.add_class::<PowerOff>()?;
    m.add_class::<StartReplica>()?;
    m.add_class::<StopReplica>()?;
    m.add_class::<Migrate>()?;
    m.add_class::<Place>()?;
    m.add_class::<RestartReplica>()?;
    m.add_class::<RestartVm>()?;
    Ok(())
}
