//! [`Hypervisor`] over libvirt (the `virt` crate), one connection per host for what the control
//! loop reads, and a fresh pair of connections for each migration.
//!
//! - **Keepalive.** libvirt's default event loop runs on a thread of its own, so every
//!   connection gets keepalive: a daemon that stops answering (stopped, hung, its machine gone)
//!   has its connection closed within about the call timeout, and the calls waiting on it fail
//!   instead of blocking forever. Opening a connection is not covered by keepalive (a stopped
//!   daemon accepts it and never answers the handshake): opens run on a thread of their own,
//!   abandoned after the call timeout.
//! - **Migrations on their own connections.** libvirt's managed, client-driven migration
//!   (`virDomainMigrate3` with `VIR_MIGRATE_LIVE | PERSIST_DEST`, plus `UNDEFINE_SOURCE` for a
//!   persistent domain): reconf holds a connection to both daemons, so no daemon needs
//!   credentials for the other (peer to peer would), and two daemons on one machine work with a
//!   loopback migration URI. Calls made on the connection that carries the migration wait
//!   until it ends, so each migration opens its own pair, and the loop's reads never wait for
//!   one. It is aborted (`virDomainAbortJob`, libvirt then resumes the VM on its source) when
//!   cancelled or past `migration_timeout_s`.
//!
//! libvirt's test driver (`test:///default`, `test:///abs/path/node.xml`) cannot migrate: for
//! it, a migration is emulated with the same outcome — the domain's migratable XML defined and
//! started on the destination, then destroyed and undefined on the source; a failure before the
//! destination runs leaves the source untouched, so the domain always runs on exactly one host.
//! Each test-driver connection is an independent host with its own domains; reopening it would
//! give a fresh host, so a lost test-driver connection stays lost, whereas a real host is
//! reconnected at the next call.

use super::hypervisor::{
    DomainInfo, DomainState, HostInfo, HvError, Hypervisor, MigrateOptions, MigrationStats,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, Once};
use std::time::{Duration, Instant};
use virt::connect::Connect;
use virt::domain::{Domain, MigrateParameters};
use virt::sys;

/// A connection handle that is closed when dropped (the `virt` crate leaves that to us).
struct Conn(Connect);

impl Drop for Conn {
    fn drop(&mut self) {
        let _ = self.0.close();
    }
}

struct Host {
    uri: String,
    test: bool,
    conn: Mutex<Option<Connect>>,
}

/// The hosts of a live run, through libvirt.
pub struct Libvirt {
    hosts: Vec<Host>,
    /// Each host's UUID when it was connected.
    uuids: Vec<Option<String>>,
    call_timeout: Duration,
}

fn err(e: virt::error::Error) -> HvError {
    HvError(e.message().to_string())
}

/// A URI without its query string (which may name sockets or keyfiles): what messages show.
pub fn uri_label(uri: &str) -> String {
    uri.split('?').next().unwrap_or(uri).to_string()
}

/// Starts libvirt's default event loop on a thread of its own, once: keepalive needs it.
fn event_loop() {
    static START: Once = Once::new();
    START.call_once(|| {
        if virt::event::event_register_default_impl().is_ok() {
            std::thread::Builder::new()
                .name("libvirt-events".into())
                .spawn(|| loop {
                    if virt::event::event_run_default_impl().is_err() {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                })
                .expect("a thread for libvirt's event loop");
        }
    });
}

/// Keepalive settings for a call timeout: a connection silent for about that long is closed.
fn keepalive(call_timeout: Duration) -> (i32, u32) {
    let count = 4u32;
    let interval = (call_timeout.as_secs_f64() / f64::from(count + 1))
        .round()
        .max(1.0);
    (interval as i32, count)
}

/// Opens `uri` on a thread of its own, waiting at most `timeout`; a connection that comes
/// later is closed by that thread.
fn open_bounded(uri: &str, timeout: Duration) -> Result<Connect, HvError> {
    event_loop();
    let (tx, rx) = mpsc::channel();
    let u = uri.to_string();
    std::thread::spawn(move || {
        let opened = Connect::open(Some(&u)).map_err(err);
        if let Err(mpsc::SendError(Ok(mut late))) = tx.send(opened) {
            let _ = late.close();
        }
    });
    let c = rx.recv_timeout(timeout).map_err(|_| {
        HvError(format!(
            "{} did not answer within {:.0} s",
            uri_label(uri),
            timeout.as_secs_f64()
        ))
    })??;
    let (interval, count) = keepalive(timeout);
    // The test driver has no keepalive (it needs none): ignore its refusal.
    let _ = c.set_keep_alive(interval, count);
    Ok(c)
}

/// The host UUID of a connection, from its capabilities (`<host><uuid>`).
fn host_uuid(c: &Connect) -> Option<String> {
    let caps = c.get_capabilities().ok()?;
    let host = &caps[caps.find("<host>")?..];
    let start = host.find("<uuid>")? + "<uuid>".len();
    let end = host[start..].find("</uuid>")? + start;
    let uuid = host[start..end].trim();
    (!uuid.is_empty()).then(|| uuid.to_string())
}

fn state_of(d: &Domain) -> Result<DomainState, virt::error::Error> {
    let (state, reason) = d.get_state()?;
    Ok(match state {
        sys::VIR_DOMAIN_RUNNING | sys::VIR_DOMAIN_BLOCKED => DomainState::Running,
        sys::VIR_DOMAIN_PAUSED | sys::VIR_DOMAIN_PMSUSPENDED => {
            if reason == sys::VIR_DOMAIN_PAUSED_MIGRATION as i32 {
                DomainState::PausedByMigration
            } else {
                DomainState::Paused
            }
        }
        // Shutting down, crashed: its process is still there.
        sys::VIR_DOMAIN_SHUTDOWN | sys::VIR_DOMAIN_CRASHED => DomainState::Paused,
        _ => DomainState::Inactive,
    })
}

fn has_job(d: &Domain) -> bool {
    d.get_job_info()
        .is_ok_and(|j| j.r#type != sys::VIR_DOMAIN_JOB_NONE as i32)
}

impl Libvirt {
    /// Connects to every URI, each within `call_timeout` (a host that accepts the connection
    /// but never answers is an error, not a hang); fails with the position of the first that
    /// does not answer. Every connection has keepalive.
    pub fn connect(uris: &[String], call_timeout: Duration) -> Result<Self, (usize, HvError)> {
        // libvirt prints every error on stderr by default; reconf reports them itself, once.
        virt::error::clear_error_callback();
        event_loop();
        let pending: Vec<_> = uris
            .iter()
            .map(|uri| {
                let (tx, rx) = mpsc::channel();
                let u = uri.clone();
                std::thread::spawn(move || {
                    let opened = open_bounded(&u, call_timeout).map(|c| {
                        let uuid = host_uuid(&c);
                        (c, uuid)
                    });
                    let _ = tx.send(opened);
                });
                rx
            })
            .collect();
        let mut hosts = Vec::new();
        let mut uuids = Vec::new();
        for (i, (uri, rx)) in uris.iter().zip(pending).enumerate() {
            // Opening is bounded; the capabilities then are, by keepalive.
            let (conn, uuid) = rx
                .recv_timeout(call_timeout * 3)
                .unwrap_or_else(|_| {
                    Err(HvError(format!(
                        "{} did not answer within {:.0} s",
                        uri_label(uri),
                        call_timeout.as_secs_f64()
                    )))
                })
                .map_err(|e| (i, e))?;
            uuids.push(uuid);
            hosts.push(Host {
                uri: uri.clone(),
                test: uri.starts_with("test:"),
                conn: Mutex::new(Some(conn)),
            });
        }
        Ok(Libvirt {
            hosts,
            uuids,
            call_timeout,
        })
    }

    /// Closes host `h`'s connection, as a lost connection would (fault injection in tests).
    pub fn disconnect(&self, h: usize) {
        if let Some(mut c) = self.hosts[h].conn.lock().expect("lock").take() {
            let _ = c.close();
        }
    }

    /// A handle on host `h`'s connection, reconnecting a real host that was lost (this may
    /// block: callers are worker threads).
    fn conn(&self, h: usize) -> Result<Conn, HvError> {
        let host = &self.hosts[h];
        let mut guard = host.conn.lock().expect("lock");
        if guard.is_none() && !host.test {
            *guard = Some(open_bounded(&host.uri, self.call_timeout)?);
        }
        match guard.as_ref() {
            Some(c) => Ok(Conn(c.clone())),
            None => Err(HvError(format!(
                "no connection to {}",
                uri_label(&host.uri)
            ))),
        }
    }

    /// Drops host `h`'s connection if it is dead, so that the next call reconnects.
    fn check_alive(&self, h: usize, c: &Conn) {
        if !c.0.is_alive().unwrap_or(false) {
            let mut guard = self.hosts[h].conn.lock().expect("lock");
            // Only if it is still the dead one (another thread may have reconnected).
            if guard.as_ref().is_some_and(|g| g.as_ptr() == c.0.as_ptr()) {
                if let Some(mut old) = guard.take() {
                    let _ = old.close();
                }
            }
        }
    }

    /// Each host's UUID (to tell two URIs of one daemon apart from two hosts), as read when it
    /// was connected; `None` for a hypervisor without one (the test driver).
    pub fn host_uuids(&self) -> &[Option<String>] {
        &self.uuids
    }

    fn emulated_migration(&self, name: &str, from: usize, to: usize) -> Result<(), HvError> {
        let src = self.conn(from)?;
        let dst = self.conn(to)?;
        let dom = Domain::lookup_by_name(&src.0, name).map_err(err)?;
        let xml = dom
            .get_xml_desc(sys::VIR_DOMAIN_XML_MIGRATABLE)
            .map_err(err)?;
        let new = Domain::define_xml(&dst.0, &xml).map_err(err)?;
        if let Err(e) = new.create() {
            let _ = new.undefine();
            return Err(err(e));
        }
        // The destination runs: only now does the source go.
        if dom.is_active().unwrap_or(false) {
            dom.destroy().map_err(err)?;
        }
        if dom.is_persistent().unwrap_or(false) {
            dom.undefine().map_err(err)?;
        }
        Ok(())
    }

    /// Domain `uuid` on host `h`.
    fn domain(&self, h: usize, uuid: &str) -> Result<(Conn, Domain), HvError> {
        let c = self.conn(h)?;
        let d = Domain::lookup_by_uuid_string(&c.0, uuid).map_err(err)?;
        Ok((c, d))
    }
}

fn completed_stats(dom: &Domain) -> MigrationStats {
    match dom.get_job_stats(sys::VIR_DOMAIN_JOB_STATS_COMPLETED) {
        Ok(s) => MigrationStats {
            bytes: s.data_processed.or(s.mem_processed),
            downtime_ms: s.downtime,
            rounds: s.mem_iteration.map(|r| r as u32),
        },
        Err(_) => MigrationStats::default(),
    }
}

impl Hypervisor for Libvirt {
    fn hosts(&self) -> usize {
        self.hosts.len()
    }

    fn label(&self, h: usize) -> String {
        uri_label(&self.hosts[h].uri)
    }

    fn host_info(&self, h: usize) -> Result<HostInfo, HvError> {
        let c = self.conn(h)?;
        match c.0.get_node_info() {
            Ok(i) => Ok(HostInfo {
                cores: i.cpus,
                memory_kib: i.memory,
                // Read once, at connection (the capabilities are a large document).
                uuid: self.uuids[h].clone(),
            }),
            Err(e) => {
                self.check_alive(h, &c);
                Err(err(e))
            }
        }
    }

    fn domains(&self, h: usize) -> Result<Vec<DomainInfo>, HvError> {
        let c = self.conn(h)?;
        let list = c.0.list_all_domains(0).map_err(|e| {
            self.check_alive(h, &c);
            err(e)
        })?;
        let mut out = Vec::new();
        for d in list {
            let read = d.get_name().and_then(|name| {
                let info = d.get_info()?;
                let state = state_of(&d)?;
                Ok((name, info, state, d.get_uuid_string()?))
            });
            let (name, info, state, uuid) = match read {
                Ok(x) => x,
                // A domain that vanished between the listing and these calls: skip it.
                Err(e) if e.code() == virt::error::ErrorNumber::NoDomain => continue,
                // Anything else: the host cannot tell what it runs (unknown, not empty).
                Err(e) => {
                    self.check_alive(h, &c);
                    return Err(err(e));
                }
            };
            out.push(DomainInfo {
                name,
                uuid,
                persistent: d.is_persistent().unwrap_or(false),
                job: state.is_paused() && has_job(&d),
                state,
                vcpus: info.nr_virt_cpu,
                memory_kib: info.memory,
                cpu_time_ns: info.cpu_time,
            });
        }
        Ok(out)
    }

    fn migrate(
        &self,
        name: &str,
        from: usize,
        to: usize,
        opts: &MigrateOptions,
        cancel: &AtomicBool,
    ) -> Result<MigrationStats, HvError> {
        if self.hosts[from].test || self.hosts[to].test {
            self.emulated_migration(name, from, to)?;
            return Ok(MigrationStats::default());
        }
        // A pair of connections of its own: calls on them wait for the migration.
        let src = Conn(open_bounded(&self.hosts[from].uri, self.call_timeout)?);
        let dst = Conn(open_bounded(&self.hosts[to].uri, self.call_timeout)?);
        let dom = Domain::lookup_by_name(&src.0, name).map_err(err)?;
        // Set before the migration starts (QEMU keeps it as a migration parameter).
        let _ = dom.migrate_set_max_downtime(opts.max_downtime_ms, 0);
        let mut flags = sys::VIR_MIGRATE_LIVE | sys::VIR_MIGRATE_PERSIST_DEST;
        if dom.is_persistent().unwrap_or(false) {
            flags |= sys::VIR_MIGRATE_UNDEFINE_SOURCE;
        }
        let params = MigrateParameters {
            bandwidth: (opts.bandwidth_mib_s > 0).then_some(opts.bandwidth_mib_s),
            uri: opts.uri.clone(),
            listen_address: opts.listen_address.clone(),
            ..MigrateParameters::default()
        };
        // A watchdog aborts the migration when it is cancelled or takes too long; libvirt then
        // resumes the VM on its source.
        let done = Arc::new(AtomicBool::new(false));
        let aborted = std::thread::scope(|s| {
            let watchdog = s.spawn(|| {
                let until = opts.timeout.map(|t| Instant::now() + t);
                while !done.load(Ordering::SeqCst) {
                    let due =
                        cancel.load(Ordering::SeqCst) || until.is_some_and(|u| Instant::now() >= u);
                    // Retried until it takes: an abort is refused while the migration job is
                    // still being set up (and past the point of no return, when it completes).
                    // SAFETY: `dom` is a valid domain handle for the scope's lifetime.
                    if due && unsafe { sys::virDomainAbortJob(dom.as_ptr()) } == 0 {
                        return true;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                false
            });
            let result = dom.migrate3(&dst.0, params, flags);
            done.store(true, Ordering::SeqCst);
            (result, watchdog.join().unwrap_or(false))
        });
        let (result, aborted) = aborted;
        match result {
            Ok(new) => Ok(completed_stats(&new)),
            Err(e) if aborted && cancel.load(Ordering::SeqCst) => Err(HvError(format!(
                "cancelled (reconf was interrupted): {}",
                e.message()
            ))),
            Err(e) => Err(err(e)),
        }
    }

    fn start(&self, h: usize, xml: &str) -> Result<(), HvError> {
        let c = self.conn(h)?;
        let dom = Domain::define_xml(&c.0, xml).map_err(err)?;
        if let Err(e) = dom.create() {
            // Leave nothing behind: a start either runs a domain or changes nothing.
            let _ = dom.undefine();
            return Err(err(e));
        }
        Ok(())
    }

    fn stop(&self, h: usize, name: &str, timeout: Duration) -> Result<(), HvError> {
        let c = self.conn(h)?;
        let dom = Domain::lookup_by_name(&c.0, name).map_err(err)?;
        if dom.is_active().unwrap_or(false) {
            // A clean shutdown first; a guest that ignores it (no ACPI, hung) is destroyed.
            let _ = dom.shutdown();
            let until = Instant::now() + timeout;
            while dom.is_active().unwrap_or(false) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(100));
            }
            if dom.is_active().unwrap_or(false) {
                dom.destroy().map_err(err)?;
            }
        }
        if dom.is_persistent().unwrap_or(false) {
            dom.undefine().map_err(err)?;
        }
        Ok(())
    }

    fn remove_copy(&self, h: usize, uuid: &str) -> Result<(), HvError> {
        let (_c, dom) = self.domain(h, uuid)?;
        let state = state_of(&dom).map_err(err)?;
        if state == DomainState::Running {
            return Err(HvError("it runs: not removed".into()));
        }
        if state.is_active() {
            if has_job(&dom) {
                return Err(HvError("a job is under way on it: not removed".into()));
            }
            dom.destroy().map_err(err)?;
        }
        if dom.is_persistent().unwrap_or(false) {
            dom.undefine().map_err(err)?;
        }
        Ok(())
    }

    fn resume(&self, h: usize, uuid: &str) -> Result<(), HvError> {
        let (_c, dom) = self.domain(h, uuid)?;
        if state_of(&dom).map_err(err)? != DomainState::PausedByMigration {
            return Err(HvError(
                "it is not paused by a migration: left alone".into(),
            ));
        }
        if has_job(&dom) {
            return Err(HvError("a job is under way on it: left alone".into()));
        }
        dom.resume().map(|_| ()).map_err(err)
    }
}
