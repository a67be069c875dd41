//! Replacing a file atomically: the new contents go to a temporary file beside the target,
//! synced, then renamed over it (`tempfile`'s `NamedTempFile::persist`). Knows nothing of
//! tensors.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::path::Path;

use tempfile::NamedTempFile;

use crate::{Error, Result};

/// Writes a file at `path` with `write`, atomically: into a synced temporary file beside it,
/// renamed into place. On any error the temporary file is removed and `path` untouched.
pub(super) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<()> {
    let io_error = |action: &'static str| {
        move |source: io::Error| Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    let file_name = path.file_name().ok_or_else(|| {
        io_error("writing")(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path does not name a file",
        ))
    })?;
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp = temp_file_beside(directory, file_name)
        .map_err(io_error("creating a temporary file to write"))?;
    write(temp.as_file_mut()).map_err(io_error("writing"))?;
    temp.as_file().sync_all().map_err(io_error("syncing"))?;
    // On error `persist` hands the temporary file back, and dropping it removes it.
    temp.persist(path)
        .map_err(|error| io_error("renaming into place")(error.error))?;
    sync_directory(directory);
    Ok(())
}

/// A new, empty temporary file in `directory`, named `.<file name>.<random>.tmp`, so that a
/// leftover from a crash says whose it was.
fn temp_file_beside(directory: &Path, file_name: &OsStr) -> io::Result<NamedTempFile> {
    let mut prefix = OsString::from(".");
    prefix.push(file_name);
    prefix.push(".");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // The permissions `File::create` gives (0o666 less the umask), not tempfile's private
    // 0o600: the file becomes the user's saved model.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    builder.tempfile_in(directory)
}

/// Makes the rename durable on unix. Best effort: the rename has happened either way, and some
/// file systems refuse to sync a directory.
fn sync_directory(directory: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = File::open(directory) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = directory;
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::io::Write;

    use super::*;

    /// Set in the child process of [`a_crash_mid_save_keeps_the_previous_file`]: the file it
    /// saves over, and dies in the middle of.
    const CRASH_TARGET: &str = "CHAINRULE_TEST_CRASH_TARGET";

    /// A real crash, not an error: this test runs itself again in a child process that writes
    /// half of a new file and aborts (no unwinding, no destructors, no cleanup), as a power
    /// cut or a `kill -9` would stop it.
    #[test]
    fn a_crash_mid_save_keeps_the_previous_file() {
        if let Some(target) = std::env::var_os(CRASH_TARGET) {
            let _ = write_atomically(Path::new(&target), |file| {
                file.write_all(b"half of a new file")?;
                file.sync_all()?;
                std::process::abort()
            });
            unreachable!("the child process aborts while saving");
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let target = dir.path().join("model.safetensors");
        fs::write(&target, b"the previous file").expect("writing the previous file");

        let child = std::process::Command::new(std::env::current_exe().expect("the test binary"))
            .args([
                "--exact",
                "io::atomic::tests::a_crash_mid_save_keeps_the_previous_file",
            ])
            .args(["--test-threads=1", "--nocapture"])
            .env(CRASH_TARGET, &target)
            .output()
            .expect("running the test binary again");
        assert!(
            !child.status.success(),
            "the child did not crash: {child:?}"
        );

        assert_eq!(fs::read(&target).unwrap(), b"the previous file");
        // The crash leaves its half-written temporary file, beside the target and named
        // after it; nothing else.
        let leftovers: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name != "model.safetensors")
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
        assert!(leftovers[0].starts_with(".model.safetensors.") && leftovers[0].ends_with(".tmp"));
        let leftover = fs::read(dir.path().join(&leftovers[0])).unwrap();
        assert_eq!(leftover, b"half of a new file");
    }

    #[test]
    fn an_error_mid_save_keeps_the_previous_file_and_removes_the_temporary_one() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let target = dir.path().join("model.safetensors");
        fs::write(&target, b"the previous file").unwrap();
        let error = write_atomically(&target, |file| {
            file.write_all(b"half of a new file")?;
            Err(io::Error::other("the disk is full"))
        })
        .unwrap_err();
        assert!(matches!(&error, Error::Io { action: "writing", path, .. } if path == &target));
        assert_eq!(fs::read(&target).unwrap(), b"the previous file");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// A saved file gets the permissions of any new file (`File::create`'s), not those of a
    /// private temporary file.
    #[cfg(unix)]
    #[test]
    fn a_saved_file_has_the_permissions_of_a_created_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let created = dir.path().join("created");
        File::create(&created).unwrap();
        let saved = dir.path().join("saved");
        write_atomically(&saved, |file| file.write_all(b"saved")).unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode(&saved), mode(&created));
        assert_eq!(fs::read(&saved).unwrap(), b"saved");
    }
}
