//! Files appear complete or not at all: written to a temporary file in the target directory,
//! synced, then renamed over the target.
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

pub(crate) fn parent_dir(p: &Path) -> &Path {
    p.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A temporary file beside `out`, to be passed to [`persist`].
pub(crate) fn temp_beside(out: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = parent_dir(out);
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    tempfile::NamedTempFile::new_in(dir).map_err(Error::io(dir))
}

/// Syncs `tmp` and renames it to `out`, readable by others like any other output (temporary
/// files are created owner-only).
pub(crate) fn persist(tmp: tempfile::NamedTempFile, out: &Path) -> Result<()> {
    tmp.as_file().sync_all().map_err(Error::io(out))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let perms = std::fs::Permissions::from_mode(0o644);
        tmp.as_file()
            .set_permissions(perms)
            .map_err(Error::io(out))?;
    }
    tmp.persist(out).map_err(|e| Error::io(out)(e.error))?;
    Ok(())
}

/// Writes `bytes` to `out` atomically.
pub fn write_atomically(out: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = temp_beside(out)?;
    tmp.write_all(bytes).map_err(Error::io(out))?;
    persist(tmp, out)
}
