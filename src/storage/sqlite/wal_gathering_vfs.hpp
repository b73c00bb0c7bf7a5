#pragma once

namespace teamreg::storage::sqlite {

/// The name of an SQLite VFS that behaves exactly like the default one except that writes to a
/// write-ahead log are gathered: consecutive frame writes are held in memory and written in pieces
/// of up to 120 KiB when SQLite next syncs, reads, truncates, sizes or closes the log (or the
/// gathered bytes reach 4 MiB). SQLite writes each WAL frame as two pwrite calls (header, page); a
/// group-commit batch of 30 registrations made ~400 of them on the committer thread, now a handful.
///
/// Durability is unchanged: nothing SQLite has synced is held back (xSync writes first, then
/// syncs), and bytes held back are exactly bytes a crash before the sync could have lost anyway.
/// Other connections never read frames before the writer's sync, because a commit is published in
/// the WAL index only after it. Registered on first use; safe to call from any thread.
const char* wal_gathering_vfs();

}  // namespace teamreg::storage::sqlite
