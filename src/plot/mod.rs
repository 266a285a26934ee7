//! Figures (stub).
use crate::scenario::InputError;
use std::path::{Path, PathBuf};
pub enum PlotError {
    Input(InputError),
    Io(String),
}
pub fn plot_dir(_dir: &Path, _out: &Path, _m: &[String]) -> Result<Vec<PathBuf>, PlotError> {
    Ok(vec![])
}
