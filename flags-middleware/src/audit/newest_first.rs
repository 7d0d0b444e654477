//! Reading a JSONL file's lines from its end: the audit log is served newest
//! first, a page at a time, so a page near the end costs a read of the last
//! few blocks, not of the whole file (which grows with every change).

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::ops::ControlFlow;
use std::path::Path;

/// How much is read at a time, from the end towards the start.
const BLOCK: usize = 64 * 1024;

/// Calls `each` with every line of the file at `path`, last line first,
/// until it breaks. Empty lines are passed over; a missing file has none.
///
/// # Errors
/// When the file exists but cannot be read.
pub(crate) fn lines(
    path: &Path,
    mut each: impl FnMut(&[u8]) -> ControlFlow<()>,
) -> std::io::Result<()> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut start = file.seek(SeekFrom::End(0))?;
    // The bytes read but not yet handed out: at most one line's beginning
    // (its end was read first) after the block just read.
    let mut pending: Vec<u8> = Vec::new();
    while start > 0 {
        let size = usize::try_from(start).map_or(BLOCK, |s| s.min(BLOCK));
        start -= size as u64;
        file.seek(SeekFrom::Start(start))?;
        let mut block = vec![0; size];
        file.read_exact(&mut block)?;
        block.extend_from_slice(&pending);
        pending = block;
        // Every line that now has its newline before it is whole.
        while let Some(newline) = pending.iter().rposition(|&b| b == b'\n') {
            let line = &pending[newline + 1..];
            if !line.is_empty() && each(line).is_break() {
                return Ok(());
            }
            pending.truncate(newline);
        }
    }
    // The file's first line has no newline before it.
    if !pending.is_empty() {
        let _ = each(&pending);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_back(text: &[u8], stop_after: usize) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, text).unwrap();
        let mut seen = Vec::new();
        lines(&path, |line| {
            seen.push(String::from_utf8(line.to_vec()).unwrap());
            match seen.len() == stop_after {
                true => ControlFlow::Break(()),
                false => ControlFlow::Continue(()),
            }
        })
        .unwrap();
        seen
    }

    #[test]
    fn lines_come_last_first_across_blocks() {
        // Lines of every length around the block size, so some straddle two
        // or three blocks and some end exactly on a block's edge.
        let lengths = [1, BLOCK - 1, 7, BLOCK, 3, 2 * BLOCK + 5, BLOCK - 8, 0, 12];
        let lines: Vec<String> = lengths
            .iter()
            .enumerate()
            .map(|(i, &n)| char::from(b'a' + i as u8).to_string().repeat(n))
            .collect();
        let text = lines.join("\n");
        let want: Vec<String> = lines
            .iter()
            .rev()
            .filter(|l| !l.is_empty())
            .cloned()
            .collect();
        assert_eq!(read_back(text.as_bytes(), usize::MAX), want);
        // A trailing newline ends the last line; it adds none.
        assert_eq!(read_back(format!("{text}\n").as_bytes(), usize::MAX), want);
        // Stopping early hands out no more.
        assert_eq!(read_back(text.as_bytes(), 2), want[..2]);
    }

    #[test]
    fn a_missing_or_empty_file_has_no_lines() {
        let dir = tempfile::tempdir().unwrap();
        let mut called = false;
        lines(&dir.path().join("none.jsonl"), |_| {
            called = true;
            ControlFlow::Continue(())
        })
        .unwrap();
        assert!(!called);
        assert!(read_back(b"", usize::MAX).is_empty());
        assert!(read_back(b"\n\n", usize::MAX).is_empty());
    }
}
