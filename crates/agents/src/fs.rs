//! Files as a run and an experiment read and write them: regular inputs of bounded size, and
//! atomic writes. A leaf: it depends on no other module of the crate but the error type.

use crate::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Reads a whole input file, refusing what is not a regular file (a FIFO would block forever,
/// a device or directory never ends or cannot be read) and anything over `max_bytes`, before
/// reading a byte.
pub fn read_regular(path: &Path, max_bytes: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind};
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, socket or device)"
        };
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("it is {what}: give the path of a file"),
        ));
    }
    if meta.len() > max_bytes {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "it is {} bytes, more than the {max_bytes} such a file can sensibly be",
                meta.len()
            ),
        ));
    }
    std::fs::read(path)
}

/// Writes `bytes` to `path` so that a crash at any moment leaves either the old file or the
/// new one, never a torn one: write a temporary file beside it, flush it to disk, rename. A
/// killed writer leaves the temporary behind ([`is_temporary`] names it).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// Whether a file name is one of [`write_atomic`]'s temporaries (`.NAME.tmp-PID`).
pub fn is_temporary(file_name: &str) -> bool {
    file_name.starts_with('.') && file_name.contains(".tmp-")
}
