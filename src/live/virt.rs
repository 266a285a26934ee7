//! [`Hypervisor`] over libvirt (the `virt` crate), one connection per host.
//!
//! Live migration is libvirt's managed, client-driven migration (`virDomainMigrate3` with
//! `VIR_MIGRATE_LIVE | PERSIST_DEST`, plus `UNDEFINE_SOURCE` for a persistent domain): reconf
//! holds a connection to both daemons, so no daemon needs credentials for the other (peer to
//! peer would), and two daemons on one machine work with a loopback migration URI.
//!
//! libvirt's test driver (`test:///default`, `test:///abs/path/node.xml`) cannot migrate: for
//! it, a migration is emulated with the same outcome — the domain's migratable XML defined and
//! started on the destination, then destroyed and undefined on the source; a failure before the
//! destination runs leaves the source untouched, so the domain always runs on exactly one host.
//! Each test-driver connection is an independent host with its own domains; reopening it would
//! give a fresh host, so a lost test-driver connection stays lost, whereas a real host is
//! reconnected at the next view.

use super::hypervisor::{
    DomainInfo, DomainState, HostInfo, HvError, Hypervisor, MigrateOptions, MigrationStats,
};
use std::sync::Mutex;
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
}

fn err(e: virt::error::Error) -> HvError {
    HvError(e.message().to_string())
}

/// A URI without its query string (which may name sockets or keyfiles): what messages show.
pub fn uri_label(uri: &str) -> String {
    uri.split('?').next().unwrap_or(uri).to_string()
}

impl Libvirt {
    /// Connects to every URI; fails on the first that does not answer, with its position.
    pub fn connect(uris: &[String]) -> Result<Self, (usize, HvError)> {
        // libvirt prints every error on stderr by default; reconf reports them itself, once.
        virt::error::clear_error_callback();
        let mut hosts = Vec::new();
        for (i, uri) in uris.iter().enumerate() {
            let conn = Connect::open(Some(uri)).map_err(|e| (i, err(e)))?;
            hosts.push(Host {
                uri: uri.clone(),
                test: uri.starts_with("test:"),
                conn: Mutex::new(Some(conn)),
            });
        }
        Ok(Libvirt { hosts })
    }

    /// Closes host `h`'s connection, as a lost connection would (fault injection in tests).
    pub fn disconnect(&self, h: usize) {
        if let Some(mut c) = self.hosts[h].conn.lock().expect("lock").take() {
            let _ = c.close();
        }
    }

    /// A handle on host `h`'s connection, reconnecting a real host that was lost.
    fn conn(&self, h: usize, reconnect: bool) -> Result<Conn, HvError> {
        let host = &self.hosts[h];
        let mut guard = host.conn.lock().expect("lock");
        if guard.is_none() && reconnect && !host.test {
            *guard = Connect::open(Some(&host.uri)).ok();
        }
        match guard.as_ref() {
            Some(c) => Ok(Conn(c.clone())),
            None => Err(HvError(format!(
                "no connection to {}",
                uri_label(&host.uri)
            ))),
        }
    }

    /// Drops host `h`'s connection after an error that says it is dead, so that the next
    /// view reconnects.
    fn check_alive(&self, h: usize, c: &Conn) {
        if !c.0.is_alive().unwrap_or(false) {
            if let Some(mut old) = self.hosts[h].conn.lock().expect("lock").take() {
                let _ = old.close();
            }
        }
    }

    fn emulated_migration(&self, name: &str, from: usize, to: usize) -> Result<(), HvError> {
        let src = self.conn(from, false)?;
        let dst = self.conn(to, false)?;
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
        let c = self.conn(h, true)?;
        match c.0.get_node_info() {
            Ok(i) => Ok(HostInfo {
                cores: i.cpus,
                memory_kib: i.memory,
            }),
            Err(e) => {
                self.check_alive(h, &c);
                Err(err(e))
            }
        }
    }

    fn domains(&self, h: usize) -> Result<Vec<DomainInfo>, HvError> {
        let c = self.conn(h, false)?;
        let list = c.0.list_all_domains(0).map_err(|e| {
            self.check_alive(h, &c);
            err(e)
        })?;
        let mut out = Vec::new();
        for d in list {
            // A domain may vanish between the listing and these calls: skip it.
            let (Ok(name), Ok(info)) = (d.get_name(), d.get_info()) else {
                continue;
            };
            let active = d.is_active().unwrap_or(false);
            out.push(DomainInfo {
                name,
                state: if active {
                    DomainState::Active
                } else {
                    DomainState::Inactive
                },
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
    ) -> Result<MigrationStats, HvError> {
        if self.hosts[from].test || self.hosts[to].test {
            self.emulated_migration(name, from, to)?;
            return Ok(MigrationStats::default());
        }
        let src = self.conn(from, false)?;
        let dst = self.conn(to, false)?;
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
        // A watchdog aborts a migration that takes too long; libvirt then resumes the VM on
        // its source.
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let watchdog = opts.timeout.map(|limit| {
            let dom = dom.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let until = Instant::now() + limit;
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    // Retried until it takes: an abort is refused while the migration job is
                    // still being set up.
                    // SAFETY: `dom` is a valid domain handle for the thread's lifetime.
                    if Instant::now() >= until
                        && unsafe { sys::virDomainAbortJob(dom.as_ptr()) } == 0
                    {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        });
        let result = dom.migrate3(&dst.0, params, flags);
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(w) = watchdog {
            let _ = w.join();
        }
        let new = result.map_err(err)?;
        Ok(completed_stats(&new))
    }

    fn start(&self, h: usize, xml: &str) -> Result<(), HvError> {
        let c = self.conn(h, false)?;
        let dom = Domain::define_xml(&c.0, xml).map_err(err)?;
        if let Err(e) = dom.create() {
            // Leave nothing behind: a start either runs a domain or changes nothing.
            let _ = dom.undefine();
            return Err(err(e));
        }
        Ok(())
    }

    fn stop(&self, h: usize, name: &str, timeout: Duration) -> Result<(), HvError> {
        let c = self.conn(h, false)?;
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
}
