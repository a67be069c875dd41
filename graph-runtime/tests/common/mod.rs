//! What the integration tests share: a directory of their own for each test.

use std::fs;
use std::path::PathBuf;

/// A fresh directory for one test, removed (with everything in it) when dropped.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    /// A new empty directory; `test` names it, so a leftover one says whose it was.
    pub fn new(test: &str) -> Self {
        let directory = tempfile::Builder::new()
            .prefix(&format!("chainrule-{test}-"))
            .tempdir()
            .expect("a temporary directory");
        TempDir(directory)
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// The names of the directory's entries, sorted: what a save left behind.
    pub fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.0.path())
            .expect("the directory exists")
            .map(|entry| {
                entry
                    .expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }
}
